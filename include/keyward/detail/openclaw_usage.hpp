// OpenClaw's per-profile `usageStats` and keyward's SharedCooldown, both ways: the windows a
// credentials store shares in the seed system's own members, so that keyward and OpenClaw honour
// each other's cooldowns (docs/credentials-file.md, "Cooldowns"). Used by store::File; the text
// in and out is a whole credentials document, so another store of the same shape can reuse it.
//
// OpenClaw's entry `usageStats.<profile>` has, among others:
//   - `cooldownUntil` (ms since 1970) and `cooldownReason`: a transient failure's window, for a
//     rate limit "rate_limit" (also "overloaded", "timeout", "auth", ...);
//   - `disabledUntil` and `disabledReason`: a long window, "billing" (out of credit or quota) or
//     "auth_permanent".
// keyward writes a rate limit as cooldownUntil + "rate_limit", a quota as disabledUntil +
// "billing", and reads back every running window except those of authentication failures
// (keyward settles those itself, by refreshing or asking for a login).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/classifier.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/json_write.hpp"
#include "keyward/detail/text.hpp"

namespace keyward::detail::openclaw_usage {

/// The longest window honoured: OpenClaw's own backoffs stop at 24 hours (rate limit and
/// billing alike). A window ending later was written by a clock far ahead or is not a time; it
/// is ignored, and a window keyward writes replaces it.
inline constexpr std::chrono::hours kLongest{24};

/// A running window of one profile.
struct Window {
  VerdictKind reason = VerdictKind::rate_limited;  ///< rate_limited or quota_exhausted.
  TimePoint until{};                               ///< When it ends.
};

/// Milliseconds since 1970.
[[nodiscard]] inline std::int64_t to_ms(TimePoint at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

/// The end of a window as written in `value`, if it is a time that is still running at `now`
/// and ends within kLongest of it (anything else: not a number, ended, too far ahead).
[[nodiscard]] inline std::optional<TimePoint> running_until(const json::Value* value,
                                                            TimePoint now) {
  const std::optional<double> ms = value != nullptr ? value->as_number() : std::nullopt;
  if (!ms || !std::isfinite(*ms)) return std::nullopt;
  const auto now_ms = static_cast<double>(to_ms(now));
  const auto longest = static_cast<double>(std::chrono::milliseconds{kLongest}.count());
  if (*ms <= now_ms || *ms > now_ms + longest) return std::nullopt;
  return TimePoint{std::chrono::milliseconds{static_cast<std::int64_t>(*ms)}};
}

/// True for OpenClaw's reasons of authentication failures, whose windows keyward does not adopt.
[[nodiscard]] inline bool is_auth_reason(std::string_view reason) noexcept {
  return reason == "auth" || reason == "auth_permanent" || reason == "session_expired";
}

/// The window of the usageStats entry `entry` running at `now`, the later of its cooldown and
/// disabled windows; none when the entry is missing, not an object, or holds no window keyward
/// honours (see kLongest and is_auth_reason()).
[[nodiscard]] inline std::optional<Window> running(const json::Value* entry, TimePoint now) {
  if (entry == nullptr || !entry->is_object()) return std::nullopt;
  std::optional<Window> found;
  const auto consider = [&](std::string_view until, std::string_view reason, VerdictKind kind) {
    const auto end = running_until(entry->find(until), now);
    if (!end || is_auth_reason(entry->string_or(reason))) return;
    if (!found || *end > found->until) found = Window{kind, *end};
  };
  consider("cooldownUntil", "cooldownReason", VerdictKind::rate_limited);
  consider("disabledUntil", "disabledReason", VerdictKind::quota_exhausted);
  return found;
}

/// The usageStats entry of `profile` in the document `root`, if there is one.
[[nodiscard]] inline const json::Value* entry_of(const json::Value& root,
                                                 std::string_view profile) {
  const json::Value* stats = root.find("usageStats");
  return stats != nullptr && stats->is_object() ? stats->find(profile) : nullptr;
}

/// What record() makes of a document.
enum class Recorded : unsigned char {
  written,    ///< `out` holds the document with the window.
  unchanged,  ///< A window of the same kind running as long or longer is there: nothing to write.
  malformed,  ///< `usageStats`, or the profile's entry, is not an object: `out` holds why.
};

namespace usage_internal {

// `"name": ` of a member as `text` has it.
inline std::string_view name_of(const json::Value& value, std::string_view text) {
  const std::string_view member = value.member_source(text);
  return member.substr(0, member.size() - value.source(text).size());
}

// The members a window of `reason` replaces in the entry.
inline std::array<std::string_view, 4> owned(VerdictKind reason) {
  if (reason == VerdictKind::quota_exhausted) return {"disabledUntil", "disabledReason", "", ""};
  return {"cooldownUntil", "cooldownReason", "cooldownModel", "cooldownClassification"};
}

inline void write_entry(std::string& out, const json::Style& style, std::string_view text,
                        const json::Value* entry, const Window& window) {
  json::ObjectWriter object{out, style, 2};
  const auto skip = owned(window.reason);
  if (entry != nullptr) {
    for (const auto& [name, value] : *entry->as_object()) {
      if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
      object.member(value.member_source(text));
    }
  }
  const bool quota = window.reason == VerdictKind::quota_exhausted;
  object.name(quota ? "disabledUntil" : "cooldownUntil");
  out.append(std::to_string(to_ms(window.until)));
  object.name(quota ? "disabledReason" : "cooldownReason");
  append_json_string(out, quota ? "billing" : "rate_limit");
  object.close();
}

inline void write_stats(std::string& out, const json::Style& style, std::string_view text,
                        const json::Value* stats, std::string_view profile, const Window& window) {
  json::ObjectWriter object{out, style, 1};
  bool wrote = false;
  if (stats != nullptr) {
    for (const auto& [name, value] : *stats->as_object()) {
      if (name == profile && !wrote) {
        object.member(name_of(value, text));
        write_entry(out, style, text, &value, window);
        wrote = true;
      } else {
        object.member(value.member_source(text));
      }
    }
  }
  if (!wrote) {
    object.name(profile);
    write_entry(out, style, text, nullptr, window);
  }
  object.close();
}

}  // namespace usage_internal

/// Writes into `out` the credentials document `text` (parsed as the object `root`) with `window`
/// recorded in `usageStats.<profile>` in OpenClaw's members (ending at most kLongest after `now`),
/// never shortening a running window of the same kind; every other member, of the document, of
/// usageStats and of the entry, is copied from `text` byte for byte, and the document keeps its
/// layout.
[[nodiscard]] inline Recorded record(std::string& out, std::string_view text,
                                     const json::Value& root, std::string_view profile,
                                     const Window& window, TimePoint now) {
  const json::Value* stats = root.find("usageStats");
  if (stats != nullptr && !stats->is_object()) {
    out = R"("usageStats" is not an object; the cooldown was not written)";
    return Recorded::malformed;
  }
  const json::Value* entry = stats != nullptr ? stats->find(profile) : nullptr;
  if (entry != nullptr && !entry->is_object()) {
    out = R"("usageStats" of profile ")" + std::string{profile} +
          R"(" is not an object; the cooldown was not written)";
    return Recorded::malformed;
  }
  // A longer window is shared for kLongest: the readers would take a later end for a clock far
  // ahead. The holder that was told keeps its own window; after kLongest one probe re-learns it.
  const Window shared{window.reason, std::min(window.until, now + kLongest)};
  if (entry != nullptr) {
    const bool quota = shared.reason == VerdictKind::quota_exhausted;
    const auto existing =
        running_until(entry->find(quota ? "disabledUntil" : "cooldownUntil"), now);
    if (existing && *existing >= shared.until) return Recorded::unchanged;
  }
  const json::Style style = json::detect_style(text, root);
  const std::string_view whole = root.source(text);
  const auto begin = static_cast<std::size_t>(whole.data() - text.data());
  out.append(text.substr(0, begin));
  json::ObjectWriter object{out, style, 0};
  bool wrote = false;
  for (const auto& [name, value] : *root.as_object()) {
    if (name == "usageStats" && !wrote) {
      object.member(usage_internal::name_of(value, text));
      usage_internal::write_stats(out, style, text, &value, profile, shared);
      wrote = true;
    } else {
      object.member(value.member_source(text));
    }
  }
  if (!wrote) {
    object.name("usageStats");
    usage_internal::write_stats(out, style, text, nullptr, profile, shared);
  }
  object.close();
  out.append(text.substr(begin + whole.size()));
  return Recorded::written;
}

}  // namespace keyward::detail::openclaw_usage
