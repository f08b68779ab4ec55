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
#include "keyward/detail/config.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/www_authenticate.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

/// Every challenge of every WWW-Authenticate field, in order; a malformed field is skipped.
[[nodiscard]] KEYWARD_DECL std::vector<detail::Challenge> all_challenges(const Headers& headers);

/// The first RFC 6750 Bearer or RFC 9449 DPoP challenge that carries an `error`, else nullptr.
[[nodiscard]] KEYWARD_DECL const detail::Challenge* error_challenge(
    const std::vector<detail::Challenge>& challenges) noexcept;

/// Applies a Bearer challenge's RFC 6750 error code, if it is one, with its description.
KEYWARD_DECL bool apply_challenge(const Headers& headers, Verdict& verdict);

/// One rate-limit dimension: whether the server says it is used up, and the wait until it resets.
struct RateLimitWindow {
  bool exhausted = false;                          ///< Nothing is left in this window.
  std::optional<std::chrono::milliseconds> reset;  ///< The wait until it resets, if known.
};

/// The wait that rate-limit windows name: the latest reset among the exhausted windows, else the
/// latest of all (the request may have needed more than any one window had left), capped.
[[nodiscard]] KEYWARD_DECL std::optional<std::chrono::milliseconds> window_wait(
    std::span<const RateLimitWindow> windows, std::chrono::milliseconds cap) noexcept;

/// True for a count header that says nothing is left ("0", "00").
[[nodiscard]] constexpr bool is_zero_count(std::string_view text) noexcept {
  text = detail::trim_ows(text);
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c == '0'; });
}

/// The wait from `now` until `when`, or nothing when `when` is not in the future.
[[nodiscard]] KEYWARD_DECL std::optional<std::chrono::milliseconds> wait_until(
    std::chrono::sys_time<std::chrono::milliseconds> when, TimePoint now) noexcept;

/// Replaces every word that echoes a masked key (such as "sk-proj-****21sA") with "[redacted]":
/// it shows more of the key than a fingerprint may.
KEYWARD_DECL void redact_key_echoes(std::string& message);

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

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/classify/impl/provider_support.ipp"
#endif
