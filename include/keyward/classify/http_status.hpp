// classify::HttpStatus: the generic classifier for any HTTP API and any OAuth 2.0 token endpoint.
//
// It reads, in order: RFC 6750 `WWW-Authenticate: Bearer error=...`; for token endpoints, the
// RFC 6749 section 5.2 `error` code of the body; then the status code. The body of an API's 2xx
// is never read. Waits come from
// `retry-after-ms` first, then `Retry-After` (delta-seconds or any HTTP-date form), capped;
// `x-should-retry: true|false` overrides retryability. Provider classifiers, which read their own
// body error fields first, build on the helpers here.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/classifier.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/detail/json.hpp"

namespace keyward::classify {

/// Messages from providers are cut to this many bytes before they reach an Error.
inline constexpr std::size_t kMaxMessageSize = 512;

/// The server's wait: `retry-after-ms` first, then `Retry-After`; capped at `cap`.
[[nodiscard]] KEYWARD_DECL std::optional<std::chrono::milliseconds> server_wait(
    const Headers& headers, TimePoint now, std::chrono::milliseconds cap);

/// The request id a provider sent in `request-id` or `x-request-id`, else empty.
[[nodiscard]] KEYWARD_DECL std::string request_id(const Headers& headers);

/// Fills in scope, retryability (honouring `x-should-retry`), and for a failure the wait and the
/// request id.
KEYWARD_DECL void finish(Verdict& verdict, const Response& response, const ClassifyContext& context,
                         std::chrono::milliseconds cap);

/// The verdict a status code alone gives for an API endpoint.
[[nodiscard]] constexpr VerdictKind kind_from_status(int status) noexcept {
  if (status >= 200 && status < 300) return VerdictKind::ok;
  switch (status) {
    case 401:
      return VerdictKind::unauthenticated;
    case 403:
      return VerdictKind::forbidden;
    case 408:
    case 409:
    case 425:
      return VerdictKind::transient;
    case 429:
      return VerdictKind::rate_limited;
    case 529:
      return VerdictKind::overloaded;
    default:
      break;
  }
  if (status >= 500) return VerdictKind::transient;
  // Redirects are not followed (that could send the credential elsewhere): the request failed.
  if (status >= 300) return VerdictKind::request_error;
  return VerdictKind::transient;  // 1xx or nonsense: nothing usable came back
}

/// The verdict an RFC 6749 section 5.2 token-endpoint error code gives, if it is one.
[[nodiscard]] KEYWARD_DECL std::optional<VerdictKind> kind_from_oauth_error(std::string_view code);

/// The verdict an RFC 6750 section 3.1 bearer error code gives, if it is one.
[[nodiscard]] KEYWARD_DECL std::optional<VerdictKind> kind_from_bearer_error(std::string_view code);

/// Generic classifier for HTTP APIs (RFC 9110, RFC 6750) and OAuth 2.0 token endpoints (RFC 6749).
class HttpStatus {
 public:
  /// Tuning.
  struct Options {
    std::chrono::milliseconds max_wait = std::chrono::hours{1};  ///< Cap on a server's wait.
  };

  HttpStatus() = default;
  /// Uses `options`.
  explicit HttpStatus(Options options) : options_(options) {}

  /// Classifies a response.
  [[nodiscard]] KEYWARD_DECL Verdict classify(const Response& response,
                                              const ClassifyContext& context) const;

  /// Classifies a transport failure: always transient and retryable.
  [[nodiscard]] KEYWARD_DECL Verdict classify(const TransportFailure& failure) const;

 private:
  // Picks the message and code out of the common body shapes: RFC 6749 {"error": "code",
  // "error_description": ...} and {"error": {"code"|"type"|"status": ..., "message": ...}}.
  KEYWARD_DECL static void read_body(std::string_view body, Verdict& verdict,
                                     detail::json::Strictness strictness);

  KEYWARD_DECL static void read_challenge(const Response& response, Verdict& verdict);

  // A token endpoint speaks RFC 6749: its error codes decide, and a 2xx is a success only when it
  // carries an access token (a captive portal's 200 is not a token).
  KEYWARD_DECL static void classify_token_endpoint(const Response& response, Verdict& verdict);

  Options options_;
};

static_assert(Classifier<HttpStatus>);

}  // namespace keyward::classify

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/classify/impl/http_status.ipp"
#endif
