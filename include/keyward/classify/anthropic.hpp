// classify::Anthropic: the classifier for the Anthropic API (api.anthropic.com) and its OAuth
// token endpoint.
//
// Anthropic's statuses do not say everything (credit exhaustion is a 400; an OAuth token sent in
// x-api-key is a 401 that no refresh can fix), so the body's `error.type` and message come first,
// then the status, then WWW-Authenticate. The credential kind of the ClassifyContext separates a
// rejected credential (`unauthenticated`) from one sent the wrong way (`misconfigured`, with a
// fix naming the header). Waits: `retry-after-ms`, `retry-after`, then, for a rate limit without
// either, the `anthropic-ratelimit-*-reset` of the exhausted window. A stream that fails after a
// 200 (`event: error`) is classified from its error object.
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

/// Classifier for the Anthropic API: `error.type` and message, then status, then WWW-Authenticate.
class Anthropic {
 public:
  using Options = HttpStatus::Options;  ///< Tuning: the cap on a server's wait.

  Anthropic() = default;
  /// Uses `options`.
  explicit Anthropic(Options options) : options_(options) {}

  /// Classifies a response from the Anthropic API or its token endpoint.
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
  static constexpr std::string_view kOAuthPlacementFix =
      "Anthropic OAuth tokens must be sent as Authorization: Bearer with anthropic-beta: "
      "oauth-2025-04-20, not in x-api-key (provider::Anthropic's attacher does this)";
  static constexpr std::string_view kOAuthBetaFix =
      "add the header anthropic-beta: oauth-2025-04-20 to requests that carry an Anthropic OAuth "
      "token as Authorization: Bearer (provider::Anthropic's attacher does this)";
  static constexpr std::string_view kApiKeyPlacementFix =
      "Anthropic API keys (sk-ant-api03-) must be sent in the x-api-key header, not as "
      "Authorization: Bearer (provider::Anthropic's attacher does this for Credential::api_key)";
  static constexpr std::string_view kClaudeCodeOnlyFix =
      "this OAuth credential (a Claude subscription login) may only be used by Claude Code: use "
      "an Anthropic API key from console.anthropic.com for this application";
  static constexpr std::string_view kCreditsFix =
      "add credits in the Anthropic Console (Settings > Billing) or use a key of an "
      "organization that has credits";
  static constexpr std::string_view kBillingFix =
      "fix the organization's billing details in the Anthropic Console (Settings > Billing)";
  static constexpr std::string_view kDisabledFix =
      "the organization that owns this credential has been disabled: use a credential of "
      "another organization or contact Anthropic support";
  static constexpr std::string_view kTokenEndpointFix =
      "check the OAuth client id and that refresh requests go to "
      "https://console.anthropic.com/v1/oauth/token with a JSON body (refresh::BodyFormat::json)";

  KEYWARD_DECL static bool read_error(const detail::json::Value& document,
                                      std::optional<CredentialKind> credential, Verdict& verdict);

  // The messages that name how the credential was sent decide before the type, which is
  // authentication_error or invalid_request_error for all of them.
  KEYWARD_DECL static VerdictKind kind_of(std::string_view type, std::string_view message,
                                          std::optional<CredentialKind> credential,
                                          VerdictKind fallback, std::string& fix);

  [[nodiscard]] KEYWARD_DECL Verdict classify_api(const Response& response,
                                                  const ClassifyContext& context) const;

  // The token endpoint speaks RFC 6749, which HttpStatus reads.
  [[nodiscard]] KEYWARD_DECL Verdict classify_token(const Response& response,
                                                    const ClassifyContext& context) const;

  // anthropic-ratelimit-<window>-reset is RFC 3339 for the requests/tokens windows and Unix
  // seconds for the subscription's unified windows; a window is exhausted when its -remaining
  // is 0 or its -status is "rejected".
  KEYWARD_DECL static std::optional<std::chrono::milliseconds> reset_wait(
      const Headers& headers, TimePoint now, std::chrono::milliseconds cap);

  KEYWARD_DECL static std::optional<std::chrono::milliseconds> reset_time(std::string_view value,
                                                                          TimePoint now);

  Options options_;
};

static_assert(Classifier<Anthropic>);

}  // namespace keyward::classify

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/classify/impl/anthropic.ipp"
#endif
