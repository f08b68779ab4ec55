// What the provider classifiers (Anthropic, OpenAI, Google, Rfc6750) share on top of
// http_status.hpp: the error document of a response (error_document.hpp), every challenge of
// every WWW-Authenticate field, the wait named by per-dimension rate-limit headers, the redaction
// of key fragments that providers echo in their messages, and the skeleton of an API
// classification (body, then status, then WWW-Authenticate, then finish()). Nothing here reads a
// clock.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/classify/error_document.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/www_authenticate.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

/// Every challenge of every WWW-Authenticate field, in order; a malformed field is skipped.
[[nodiscard]] inline std::vector<detail::Challenge> all_challenges(const Headers& headers) {
  std::vector<detail::Challenge> out;
  for (const auto& [name, value] : headers) {
    if (!detail::iequals(name, "www-authenticate")) continue;
    if (auto parsed = detail::parse_www_authenticate(value)) {
      for (auto& challenge : *parsed) out.push_back(std::move(challenge));
    }
  }
  return out;
}

/// The first RFC 6750 Bearer or RFC 9449 DPoP challenge that carries an `error`, else nullptr.
[[nodiscard]] inline const detail::Challenge* error_challenge(
    const std::vector<detail::Challenge>& challenges) noexcept {
  for (const auto& challenge : challenges) {
    const bool bearer =
        detail::iequals(challenge.scheme, "Bearer") || detail::iequals(challenge.scheme, "DPoP");
    if (bearer && challenge.param("error") != nullptr) return &challenge;
  }
  return nullptr;
}

/// Applies a Bearer challenge's RFC 6750 error code, if it is one, with its description.
inline bool apply_challenge(const Headers& headers, Verdict& verdict) {
  const auto challenges = all_challenges(headers);
  const auto* challenge = error_challenge(challenges);
  if (challenge == nullptr) return false;
  const auto kind = kind_from_bearer_error(*challenge->param("error"));
  if (!kind) return false;
  verdict.kind = *kind;
  verdict.provider_code = *challenge->param("error");
  if (const auto* description = challenge->param("error_description")) {
    verdict.message = *description;
  }
  return true;
}

/// One rate-limit dimension: whether the server says it is used up, and the wait until it resets.
struct RateLimitWindow {
  bool exhausted = false;                          ///< Nothing is left in this window.
  std::optional<std::chrono::milliseconds> reset;  ///< The wait until it resets, if known.
};

/// The wait that rate-limit windows name: the latest reset among the exhausted windows, else the
/// latest of all (the request may have needed more than any one window had left), capped.
[[nodiscard]] inline std::optional<std::chrono::milliseconds> window_wait(
    std::span<const RateLimitWindow> windows, std::chrono::milliseconds cap) noexcept {
  std::optional<std::chrono::milliseconds> exhausted;
  std::optional<std::chrono::milliseconds> any;
  for (const auto& window : windows) {
    if (!window.reset) continue;
    if (!any || *window.reset > *any) any = window.reset;
    if (window.exhausted && (!exhausted || *window.reset > *exhausted)) exhausted = window.reset;
  }
  auto wait = exhausted ? exhausted : any;
  if (wait && *wait > cap) wait = cap;
  return wait;
}

/// True for a count header that says nothing is left ("0", "00").
[[nodiscard]] constexpr bool is_zero_count(std::string_view text) noexcept {
  text = detail::trim_ows(text);
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c == '0'; });
}

/// The wait from `now` until `when`, or nothing when `when` is not in the future.
[[nodiscard]] inline std::optional<std::chrono::milliseconds> wait_until(
    std::chrono::sys_time<std::chrono::milliseconds> when, TimePoint now) noexcept {
  using namespace std::chrono;
  // RFC 3339 times lie in years 0..9999, so bounding `now` keeps the subtraction in range.
  constexpr sys_time<milliseconds> kEarliest{sys_days{year{-1000} / January / 1}};
  const auto now_ms = std::max(floor<milliseconds>(now), kEarliest);
  if (when <= now_ms) return std::nullopt;
  return when - now_ms;
}

/// Replaces every word that echoes a masked key (such as "sk-proj-****21sA") with "[redacted]":
/// it shows more of the key than a fingerprint may.
inline void redact_key_echoes(std::string& message) {
  constexpr std::string_view kRedacted = "[redacted]";
  constexpr std::string_view kPunctuation = ".,;:!?()[]\"'";
  if (message.find("***") == std::string::npos) return;
  // One pass into a new string: replacing in place moves the whole tail once per key, which
  // made a 1 MB message full of masked keys take a second.
  std::string out;
  out.reserve(message.size());
  std::string_view rest = message;
  while (true) {
    const std::size_t space = rest.find(' ');
    const std::string_view token = rest.substr(0, space);
    // Punctuation around the key is kept: "(sk-***x)." becomes "([redacted]).".
    const std::size_t word_start = token.find_first_not_of(kPunctuation);
    const std::size_t word_end =
        word_start == std::string_view::npos ? 0 : token.find_last_not_of(kPunctuation) + 1;
    if (word_start != std::string_view::npos &&
        token.substr(word_start, word_end - word_start).find("***") != std::string_view::npos) {
      out.append(token.substr(0, word_start));
      out.append(kRedacted);
      out.append(token.substr(word_end));
    } else {
      out.append(token);
    }
    if (space == std::string_view::npos) break;
    out.push_back(' ');
    rest.remove_prefix(space + 1);
  }
  message = std::move(out);
}

/// Classifies an API response the way every provider classifier does: the status's kind, then
/// `read_error(document, verdict)` (true when the provider recognised its error), then, when it
/// did not, the Bearer challenge; then finish(). A stream's error event starts from transient.
template <class ReadError>
[[nodiscard]] Verdict classify_api_response(const Response& response,
                                            const ClassifyContext& context,
                                            std::chrono::milliseconds cap, ReadError&& read_error) {
  const ErrorDocument document = error_document(response);
  Verdict verdict;
  verdict.kind = document.streamed ? VerdictKind::transient : kind_from_status(response.status);
  const bool recognised =
      document.json && std::forward<ReadError>(read_error)(*document.json, verdict);
  if (!recognised && !document.streamed && response.status >= 400) {
    apply_challenge(response.headers, verdict);  // a challenge on a success changes nothing
  }
  finish(verdict, response, context, cap);
  return verdict;
}

}  // namespace keyward::classify
