// Definitions for keyward/classify/rfc6750.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/classify/provider_support.hpp"
#include "keyward/classify/rfc6750.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/www_authenticate.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

KEYWARD_DECL Verdict Rfc6750::classify(const Response& response,
                                       const ClassifyContext& context) const {
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

KEYWARD_DECL bool Rfc6750::offers_bearer(
    const std::vector<detail::Challenge>& challenges) noexcept {
  return std::ranges::any_of(challenges, [](const detail::Challenge& challenge) {
    return detail::iequals(challenge.scheme, "Bearer") || detail::iequals(challenge.scheme, "DPoP");
  });
}

// RFC 6750 section 3.1 and RFC 9449 section 7.1 / 8 error codes.
KEYWARD_DECL bool Rfc6750::read_challenge(const detail::Challenge& challenge, Verdict& verdict) {
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

}  // namespace keyward::classify
