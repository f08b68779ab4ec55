// classify::Rfc6750: the classifier for any OAuth-protected API (RFC 6750 bearer tokens, RFC 9449
// DPoP) and any OAuth 2.0 token endpoint.
//
// What a resource server says in WWW-Authenticate outranks everything else: the first Bearer or
// DPoP challenge carrying an `error`, across every WWW-Authenticate field, decides (invalid_token,
// insufficient_scope with the scope to ask for, invalid_request, DPoP's invalid_dpop_proof and
// use_dpop_nonce). A 401 whose challenges offer neither Bearer nor DPoP means the API does not
// take bearer tokens at all (RFC 6750 section 3 requires the Bearer challenge). Everything else,
// token endpoints included, is classify::HttpStatus's reading.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/classify/provider_support.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/www_authenticate.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

/// Classifier for OAuth-protected APIs: WWW-Authenticate first, then HttpStatus.
class Rfc6750 {
 public:
  using Options = HttpStatus::Options;  ///< Tuning: the cap on a server's wait.

  Rfc6750() = default;
  /// Uses `options`.
  explicit Rfc6750(Options options) : options_(options) {}

  /// Classifies a response from a resource server or a token endpoint.
  [[nodiscard]] Verdict classify(const Response& response, const ClassifyContext& context) const {
    Verdict verdict = HttpStatus{options_}.classify(response, context);
    // A token endpoint speaks RFC 6749, and a challenge on a success changes nothing.
    if (context.endpoint == Endpoint::token || response.status < 400) return verdict;
    const auto challenges = all_challenges(response.headers);
    if (const auto* challenge = error_challenge(challenges)) {
      if (read_challenge(*challenge, verdict)) {
        finish(verdict, response, context, options_.max_wait);
      }
    } else if (response.status == 401 && !challenges.empty() && !offers_bearer(challenges)) {
      verdict.kind = VerdictKind::misconfigured;
      verdict.fix = "the API answered with WWW-Authenticate schemes other than Bearer (";
      for (std::size_t i = 0; i < challenges.size() && i < 4; ++i) {
        verdict.fix.append(i == 0 ? "" : ", ").append(challenges[i].scheme.substr(0, 32));
      }
      verdict.fix.append("): it does not accept this credential as a bearer token");
      finish(verdict, response, context, options_.max_wait);
    }
    return verdict;
  }

  /// Classifies a transport failure: always transient and retryable.
  [[nodiscard]] Verdict classify(const TransportFailure& failure) const {
    return HttpStatus{options_}.classify(failure);
  }

 private:
  static bool offers_bearer(const std::vector<detail::Challenge>& challenges) noexcept {
    return std::ranges::any_of(challenges, [](const detail::Challenge& challenge) {
      return detail::iequals(challenge.scheme, "Bearer") ||
             detail::iequals(challenge.scheme, "DPoP");
    });
  }

  // RFC 6750 section 3.1 and RFC 9449 section 7.1 / 8 error codes.
  static bool read_challenge(const detail::Challenge& challenge, Verdict& verdict) {
    const std::string& code = *challenge.param("error");
    if (auto kind = kind_from_bearer_error(code)) {
      verdict.kind = *kind;
    } else if (code == "invalid_dpop_proof") {
      verdict.kind = VerdictKind::misconfigured;
      verdict.fix =
          "the API rejected the DPoP proof (RFC 9449): check the client's DPoP key and the proof's "
          "htm, htu and ath claims";
    } else if (code == "use_dpop_nonce") {
      // The server wants its DPoP-Nonce in the next proof: sending again with it succeeds.
      verdict.kind = VerdictKind::transient;
    } else {
      return false;
    }
    verdict.provider_code = code;
    if (const auto* description = challenge.param("error_description")) {
      verdict.message = *description;
    }
    if (verdict.kind == VerdictKind::forbidden) {
      if (const auto* scope = challenge.param("scope"); scope != nullptr && !scope->empty()) {
        verdict.fix = "obtain a token with the scope \"" + scope->substr(0, 256) +
                      "\": this credential was not granted it";
      }
    }
    return true;
  }

  Options options_;
};

static_assert(Classifier<Rfc6750>);

}  // namespace keyward::classify
