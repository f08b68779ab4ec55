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

#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/detail/config.hpp"
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
  [[nodiscard]] KEYWARD_DECL Verdict classify(const Response& response,
                                              const ClassifyContext& context) const;

  /// Classifies a transport failure: always transient and retryable.
  [[nodiscard]] Verdict classify(const TransportFailure& failure) const {
    return HttpStatus{options_}.classify(failure);
  }

 private:
  KEYWARD_DECL static bool offers_bearer(const std::vector<detail::Challenge>& challenges) noexcept;

  // RFC 6750 section 3.1 and RFC 9449 section 7.1 / 8 error codes.
  KEYWARD_DECL static bool read_challenge(const detail::Challenge& challenge, Verdict& verdict);

  Options options_;
};

static_assert(Classifier<Rfc6750>);

}  // namespace keyward::classify

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/classify/impl/rfc6750.ipp"
#endif
