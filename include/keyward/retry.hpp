// When a request that failed at the provider may be sent again (docs/retries.md).
//
// Sending again is safe when repeating the request cannot do twice what it was meant to do once:
// its method is idempotent, it carries an idempotency key the server de-duplicates on, or the
// failure shows that the server never processed it. These are pure functions of the request,
// the transport's result and the verdict; the driver asks them before each retry.
#pragma once

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

#include "keyward/classifier.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// The request header a server de-duplicates on (the IETF httpapi draft's name, also the one the
/// official OpenAI SDKs send): a request that carries it may be sent again whatever its method.
inline constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";

/// True for the methods RFC 9110 section 9.2.2 defines as idempotent (GET, HEAD, OPTIONS, TRACE,
/// PUT, DELETE); method names are case-sensitive, and an unknown method is not idempotent.
[[nodiscard]] constexpr bool is_idempotent_method(std::string_view method) noexcept {
  constexpr std::array<std::string_view, 6> kIdempotent{"GET",   "HEAD", "OPTIONS",
                                                        "TRACE", "PUT",  "DELETE"};
  return std::ranges::any_of(kIdempotent,
                             [method](std::string_view known) { return method == known; });
}

/// True when the request carries a non-empty idempotency key.
[[nodiscard]] inline bool has_idempotency_key(const Headers& headers) noexcept {
  const auto key = headers.get(kIdempotencyKeyHeader);
  return key && !detail::trim_ows(*key).empty();
}

/// The server's `x-should-retry` answer: true or false when it sent one, else nothing.
[[nodiscard]] inline std::optional<bool> server_should_retry(const Headers& headers) noexcept {
  const auto value = headers.get("x-should-retry");
  if (!value) return std::nullopt;
  const auto word = detail::trim_ows(*value);
  if (detail::iequals(word, "true")) return true;
  if (detail::iequals(word, "false")) return false;
  return std::nullopt;
}

/// True when the failure shows that the request never reached the server's application: no
/// connection was made (refused, DNS, unreachable) or the TLS handshake failed, both before a
/// byte of the request was written. A timeout, a connection closed mid-response or any other
/// failure may have come after the server read the request, so it proves nothing.
[[nodiscard]] constexpr bool never_sent(const TransportFailure& failure) noexcept {
  return failure.kind == TransportErrc::connect || failure.kind == TransportErrc::tls;
}

/// True when the response says that the server refused the request without processing it:
/// `x-should-retry: true` (the server asks for the request again); 529 (a status used only to
/// shed load); 429 (a rate limiter turns requests away before any work); or 503 when the server
/// names a wait (`Retry-After`) or says it is overloaded (the verdict is `overloaded`). Other
/// 5xx may come after the work was done, or half done.
[[nodiscard]] inline bool refused_unprocessed(const Response& response,
                                              const Verdict& verdict) noexcept {
  if (server_should_retry(response.headers).value_or(false)) return true;
  switch (response.status) {
    case 429:
    case 529:
      return true;
    case 503:
      return verdict.kind == VerdictKind::overloaded || verdict.retry_after.has_value();
    default:
      return false;
  }
}

/// Whether `request`, which failed with `sent` classified as `verdict`, may be sent again
/// without risking doing its work twice: an idempotent method, an idempotency key, or a failure
/// that shows the server never processed it (never_sent(), refused_unprocessed()). Whether it
/// should be sent again (retryable verdict, attempts, budget, breaker) is decided elsewhere.
[[nodiscard]] inline bool may_resend(const Request& request, const TransportResult& sent,
                                     const Verdict& verdict) noexcept {
  if (is_idempotent_method(request.method) || has_idempotency_key(request.headers)) return true;
  return sent ? refused_unprocessed(*sent, verdict) : never_sent(sent.error());
}

}  // namespace keyward
