// Small text encoders that keyward writes with: JSON string literals, form URL encoding,
// base64, and RFC 3339 timestamps. Readers live in json.hpp and the header parsers.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "keyward/detail/config.hpp"

namespace keyward::detail {

/// `a` and `b` separated by a space, or whichever is not empty.
inline std::string join_words(std::string_view a, std::string_view b) {
  std::string out{a};
  if (!a.empty() && !b.empty()) out.push_back(' ');
  out.append(b);
  return out;
}

/// Appends `text` to `out` as a JSON string literal, quotes included, always valid UTF-8.
KEYWARD_DECL void append_json_string(std::string& out, std::string_view text);

/// Appends `text` to `out` percent-encoded for application/x-www-form-urlencoded bodies.
KEYWARD_DECL void append_form_encoded(std::string& out, std::string_view text);

/// Encodes `data` in base64 with padding (RFC 4648 section 4).
KEYWARD_DECL std::string base64_encode(std::string_view data);

/// Formats a time in whole seconds as RFC 3339 UTC, e.g. "2026-02-04T12:00:20Z".
KEYWARD_DECL std::string format_rfc3339_seconds(std::chrono::sys_seconds seconds);

/// Formats a time as RFC 3339 UTC with second precision (cut), e.g. "2026-02-04T12:00:20Z".
inline std::string format_rfc3339(std::chrono::system_clock::time_point time) {
  return format_rfc3339_seconds(std::chrono::floor<std::chrono::seconds>(time));
}

/// Formats the end of a wait as RFC 3339 UTC, rounded UP to the next whole second, so that a
/// request made at the second shown is allowed: "2026-02-04T12:00:21Z" for 12:00:20.4.
inline std::string format_deadline(std::chrono::system_clock::time_point time) {
  // In seconds, so that the latest representable time rounds up without overflowing.
  return format_rfc3339_seconds(std::chrono::ceil<std::chrono::seconds>(time));
}

/// Formats a duration for people, cut (never rounded up): "250 ms", "20 s", "5 min 20 s",
/// "1 h 30 min", "1 day 3 h", "3 days", "56 years". A negative duration reads as its size.
KEYWARD_DECL std::string format_duration(std::chrono::milliseconds duration);

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/text.ipp"
#endif
