// classify::Google: the classifier for Google's Gemini API (generativelanguage.googleapis.com),
// Vertex AI (aiplatform.googleapis.com) and Google's OAuth token endpoint.
//
// Google's errors follow google.rpc.Status: `error.status` is the canonical code and
// `error.details[]` may hold an ErrorInfo whose `reason` says more (API_KEY_INVALID,
// ACCESS_TOKEN_EXPIRED, SERVICE_DISABLED...), a QuotaFailure naming the exhausted quota and a
// RetryInfo whose `retryDelay` ("26s") is the wait. Statuses alone mislead here: a bad key is a
// 400 and a leaked key a 403. So the reason decides first, then the status string, then the HTTP
// status, then WWW-Authenticate. A daily quota is `quota_exhausted`, a per-minute one
// `rate_limited`. Streaming endpoints send errors as a JSON array or as SSE data; both are read.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/classifier.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/credential_kind.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

/// Classifier for the Gemini API and Vertex AI: ErrorInfo reason, then `error.status`, then the
/// HTTP status, then WWW-Authenticate.
class Google {
 public:
  using Options = HttpStatus::Options;  ///< Tuning: the cap on a server's wait.

  Google() = default;
  /// Uses `options`.
  explicit Google(Options options) : options_(options) {}

  /// Classifies a response from a Google API or Google's token endpoint.
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
  [[nodiscard]] KEYWARD_DECL Verdict classify_token(const Response& response,
                                                    const ClassifyContext& context) const;

  [[nodiscard]] KEYWARD_DECL Verdict classify_api(const Response& response,
                                                  const ClassifyContext& context) const;

  // What error.details says, besides the message.
  struct Details {
    std::string_view reason;          // ErrorInfo.reason
    std::string_view activation_url;  // ErrorInfo.metadata.activationUrl (SERVICE_DISABLED)
    bool daily_quota = false;         // a QuotaFailure violation of a per-day quota
    std::optional<std::chrono::milliseconds> retry_delay;  // RetryInfo.retryDelay
  };

  static constexpr std::string_view kTokenEndpointFix =
      "check the OAuth client id and secret (Google Cloud console, APIs & Services > Credentials) "
      "and that refresh requests go to https://oauth2.googleapis.com/token";
  static constexpr std::string_view kOAuthAsKeyFix =
      "Google OAuth access tokens must be sent as Authorization: Bearer, not as x-goog-api-key or "
      "?key= (provider::Google's attacher does this for Credential::oauth)";
  static constexpr std::string_view kNoCredentialFix =
      "the request reached Google without a credential it recognised: send Gemini API keys in "
      "x-goog-api-key and OAuth access tokens as Authorization: Bearer (provider::Google's "
      "attacher does this)";
  static constexpr std::string_view kKeysNotSupportedFix =
      "this Google API does not accept API keys: use an OAuth access token (for example a service "
      "account's) sent as Authorization: Bearer";
  static constexpr std::string_view kKeyRestrictedFix =
      "this API key's restrictions (allowed APIs, HTTP referrers, IP addresses or apps) block the "
      "request: change them in the Google Cloud console (APIs & Services > Credentials) or use "
      "another key";
  static constexpr std::string_view kServiceDisabledFix =
      "enable the API in the Google Cloud project that owns this credential";
  static constexpr std::string_view kProjectFix =
      "the Google Cloud project that owns this credential is suspended or no longer exists: use "
      "a credential of an active project";
  static constexpr std::string_view kBillingFix =
      "enable billing for the Google Cloud project that owns this credential";
  static constexpr std::string_view kDailyQuotaFix =
      "the daily quota is used up: wait for it to reset (midnight Pacific time) or raise the "
      "quota or the billing tier of the project (Google AI Studio or the Cloud console)";
  static constexpr std::string_view kLeakedFix =
      "Google blocked this API key because it was reported as leaked: create a new key and keep "
      "it out of public code";
  static constexpr std::string_view kScopeFix =
      "obtain the token with a scope this API accepts (https://www.googleapis.com/auth/"
      "cloud-platform, or https://www.googleapis.com/auth/generative-language for the Gemini API)";

  KEYWARD_DECL static bool read_error(const detail::json::Value& document,
                                      std::optional<CredentialKind> credential, Verdict& verdict,
                                      std::optional<std::chrono::milliseconds>& retry_delay);

  KEYWARD_DECL static Details read_details(const detail::json::Value& error);

  KEYWARD_DECL static VerdictKind kind_of(const Details& details, std::string_view status,
                                          std::string_view message,
                                          std::optional<CredentialKind> credential,
                                          VerdictKind fallback, std::string& fix);

  // The canonical codes of google.rpc.Code, for errors whose reason did not decide.
  KEYWARD_DECL static VerdictKind kind_of_status(std::string_view status, std::string_view message,
                                                 VerdictKind fallback);

  Options options_;
};

static_assert(Classifier<Google>);

}  // namespace keyward::classify

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/classify/impl/google.ipp"
#endif
