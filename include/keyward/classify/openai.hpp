// classify::OpenAI: the classifier for the OpenAI API (api.openai.com) and the OpenAI OAuth
// token endpoint (auth.openai.com).
//
// The body's `error.code` decides first, then `error.type`: quota exhaustion arrives as a 429
// whose code is `insufficient_quota`, and only the code tells it from a rate limit. Then the
// status, then WWW-Authenticate. Waits: `retry-after-ms`, `retry-after`, then, for a rate limit
// without either, the `x-ratelimit-reset-*` Go duration of the exhausted dimension (the one whose
// `x-ratelimit-remaining-*` is 0, else the longer). OpenAI echoes part of a rejected key in its
// message; that part is redacted. Streams that fail after a 200 (a chat completion's `error`
// data, the Responses API's `error` and `response.failed` events) are classified from the error.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/classifier.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

/// Classifier for the OpenAI API: `error.code`, then `error.type`, then status, then
/// WWW-Authenticate.
class OpenAI {
 public:
  using Options = HttpStatus::Options;  ///< Tuning: the cap on a server's wait.

  OpenAI() = default;
  /// Uses `options`.
  explicit OpenAI(Options options) : options_(options) {}

  /// Classifies a response from the OpenAI API or its token endpoint.
  [[nodiscard]] Verdict classify(const Response& response, const ClassifyContext& context) const {
    // Two calls, no named verdict: the result is built in place, never moved.
    if (context.endpoint == Endpoint::token) return classify_token(response, context);
    return classify_api(response, context);
  }

  /// Classifies a transport failure: always transient and retryable.
  [[nodiscard]] Verdict classify(const TransportFailure& failure) const {
    return HttpStatus{options_}.classify(failure);
  }

 private:
  static constexpr std::string_view kQuotaFix =
      "add credits or raise the usage limit of the OpenAI organization or project "
      "(platform.openai.com, Settings > Billing and Limits)";
  static constexpr std::string_view kOrganizationFix =
      "the OpenAI-Organization or OpenAI-Project header does not match this key: remove the "
      "header or set it to the organization and project the key belongs to";
  static constexpr std::string_view kMissingKeyFix =
      "the request reached OpenAI without a usable key: send it as Authorization: Bearer <key> "
      "(provider::OpenAI's attacher does this)";
  static constexpr std::string_view kTokenEndpointFix =
      "check the OAuth client id and the token request sent to OpenAI's token endpoint";

  KEYWARD_DECL static bool read_error(const detail::json::Value& document, Verdict& verdict);

  KEYWARD_DECL static VerdictKind kind_of(std::string_view code, std::string_view type,
                                          std::string_view message, VerdictKind fallback,
                                          std::string& fix);

  [[nodiscard]] KEYWARD_DECL Verdict classify_api(const Response& response,
                                                  const ClassifyContext& context) const;

  // The token endpoint answers RFC 6749 errors, or {"error": {"code": "refresh_token_reused"}}
  // when a rotated refresh token is redeemed again, expired or revoked: a person must log in.
  [[nodiscard]] KEYWARD_DECL Verdict classify_token(const Response& response,
                                                    const ClassifyContext& context) const;

  // x-ratelimit-reset-<dimension> holds a Go duration (6m0s, 644ms); the dimension is exhausted
  // when x-ratelimit-remaining-<dimension> is 0.
  KEYWARD_DECL static std::optional<std::chrono::milliseconds> reset_wait(
      const Headers& headers, std::chrono::milliseconds cap);

  Options options_;
};

static_assert(Classifier<OpenAI>);

}  // namespace keyward::classify

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/classify/impl/openai.ipp"
#endif
