// refresh::OAuth2RefreshToken: the OAuth 2.0 refresh-token grant (RFC 6749 section 6).
//
// Sends `grant_type=refresh_token` to the token endpoint through the application's own Transport,
// with client authentication none, client_secret_basic or client_secret_post, as a form body
// (the default) or a JSON body (Anthropic). The endpoint's answer is classified by
// classify::HttpStatus (or a provider's classifier) as a token endpoint: invalid_grant means a
// person must log in again, invalid_client and kin mean the client configuration is wrong, and
// 5xx, 429, timeouts and a 200 without an access token are transient.
//
// The strategy only redeems: storing a rotated refresh token before it is used is the job of
// ResilientCredential's store (store::Memory with a persist hook, by default), which keeps a
// redeemed credential until it is stored, so a spent refresh token is never redeemed twice.
//
// A default-constructed strategy has no token endpoint and refreshes nothing; a provider bundle's
// oauth_refresh() fills in its provider's endpoint and body format.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/classify/http_status.hpp"
#include "keyward/credential.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/error.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/result.hpp"
#include "keyward/transport.hpp"

namespace keyward::refresh {

/// How the client authenticates to the token endpoint (RFC 6749 section 2.3).
enum class ClientAuth : std::uint8_t {
  none,                 ///< A public client: client_id in the body, no secret.
  client_secret_basic,  ///< HTTP Basic with the client id and secret.
  client_secret_post,   ///< client_id and client_secret in the body.
};

/// How the token request's body is encoded.
enum class BodyFormat : std::uint8_t {
  form,  ///< application/x-www-form-urlencoded, as RFC 6749 specifies.
  json,  ///< application/json, for providers that require it.
};

/// Where and how to refresh with the refresh-token grant.
struct OAuth2Options {
  std::string token_url{};  ///< The token endpoint; https, or http to a loopback host.
  std::string client_id{};  ///< The client id; may be empty for client authentication none.
  Secret client_secret{};   ///< The client secret, for the client_secret_* methods.
  ClientAuth client_auth = ClientAuth::none;  ///< Client authentication method.
  BodyFormat body_format = BodyFormat::form;  ///< Body encoding.
  std::string scope{};               ///< The scope to ask for; empty to keep the granted scope.
  Headers extra_headers{};           ///< Sent with every token request.
  bool allow_insecure_http = false;  ///< Permit plain http to a non-loopback token endpoint.
};

namespace oauth2_internal {

// What BasicOAuth2RefreshToken does that does not depend on its token classifier, compiled once
// (keyward/impl/src.hpp) rather than for every classifier.

/// Throws std::invalid_argument with the reason when `options` are unusable.
KEYWARD_DECL void check_options(const OAuth2Options& options);

/// The secrets of `options`: the client secret and, for client_secret_basic, the base64
/// credentials of the Basic header built from it.
[[nodiscard]] KEYWARD_DECL std::vector<Secret> secrets(const OAuth2Options& options);

/// The base64 credentials of the Basic header for client_secret_basic (RFC 6749 section 2.3.1:
/// both parts are form-encoded before base64).
[[nodiscard]] KEYWARD_DECL Secret basic_credentials(const OAuth2Options& options);

/// The token request that redeems `current.refresh_token` under `options`.
[[nodiscard]] KEYWARD_DECL Request token_request(const OAuth2Options& options,
                                                 const Credential& current);

/// The credential in a token endpoint's answer, which the classifier has already checked is an
/// object with an access token.
[[nodiscard]] KEYWARD_DECL RefreshOutcome parse_token_response(std::string_view body,
                                                               const Credential& current,
                                                               TimePoint now);

}  // namespace oauth2_internal

/// Redeems the refresh token at an OAuth 2.0 token endpoint; `TokenClassifier` classifies its
/// answers (a provider's classifier knows its own token errors, e.g. OpenAI's
/// refresh_token_reused).
template <Classifier TokenClassifier = classify::HttpStatus>
class BasicOAuth2RefreshToken {
 public:
  /// Where and how to refresh (the same for every token classifier).
  using Options = OAuth2Options;

  /// A strategy with no token endpoint: it refreshes nothing, and says so.
  BasicOAuth2RefreshToken() = default;

  /// Checks `options`; throws std::invalid_argument with the reason when they are unusable.
  explicit BasicOAuth2RefreshToken(Options options) : options_(std::move(options)) {
    oauth2_internal::check_options(options_);
  }

  /// True for an OAuth credential that has a refresh token, once a token endpoint is configured.
  [[nodiscard]] bool refreshable(const Credential& credential) const noexcept {
    return !options_.token_url.empty() && credential.kind == CredentialKind::oauth &&
           !credential.refresh_token.empty();
  }

  /// Why refreshable() is false for an OAuth credential with a refresh token.
  [[nodiscard]] std::string why_not_refreshable(const Credential& /*credential*/) const {
    return "the refresh strategy has no token endpoint configured (give it OAuth2Options with "
           "token_url and client_id, or use the provider bundle's oauth_refresh())";
  }

  /// The secrets of the configuration, so that no message shows them: the client secret and,
  /// for client_secret_basic, the base64 credentials of the Basic header built from it.
  [[nodiscard]] std::vector<Secret> secrets() const { return oauth2_internal::secrets(options_); }

  /// Redeems `current.refresh_token` at the token endpoint.
  template <Transport T>
  Result<RefreshOutcome> refresh(const Credential& current, T& transport, TimePoint now) {
    if (!refreshable(current)) {
      return unexpected(make_error(Errc::refresh_failed, why_not_refreshable(current)));
    }
    auto sent = transport.send(token_request(current));
    if (!sent) {
      Verdict verdict = classifier_.classify(sent.error());
      std::string what = "the token endpoint could not be reached (" + verdict.message + ")";
      return unexpected(refresh_error(Errc::refresh_failed, std::move(what), std::move(verdict)));
    }
    const Response& response = *sent;
    Verdict verdict = classifier_.classify(response, {.endpoint = Endpoint::token, .now = now});
    if (verdict.kind != VerdictKind::ok) {
      const bool person_needed = verdict.kind == VerdictKind::unauthenticated ||
                                 verdict.kind == VerdictKind::misconfigured;
      std::string what = "the token endpoint answered HTTP " + std::to_string(response.status);
      if (!verdict.provider_code.empty()) what += " " + verdict.provider_code;
      if (!verdict.message.empty()) what += ": " + verdict.message;
      if (response.status == 200) what += " without an access token";
      return unexpected(refresh_error(person_needed ? Errc::needs_reauth : Errc::refresh_failed,
                                      std::move(what), std::move(verdict)));
    }
    return parse_token_response(response.body, current, now);
  }

  /// The options in use.
  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  static Error refresh_error(Errc code, std::string message, Verdict verdict) {
    Error error = make_error(code, std::move(message));
    error.verdict = std::move(verdict);
    return error;
  }

  Request token_request(const Credential& current) const {
    return oauth2_internal::token_request(options_, current);
  }

  // The classifier has already checked that the body is an object with an access token.
  static RefreshOutcome parse_token_response(std::string_view body, const Credential& current,
                                             TimePoint now) {
    return oauth2_internal::parse_token_response(body, current, now);
  }

  Options options_;
  TokenClassifier classifier_;
};

/// The refresh-token grant with the generic RFC 6749 classification of token errors.
using OAuth2RefreshToken = BasicOAuth2RefreshToken<>;

static_assert(RefreshStrategy<OAuth2RefreshToken, TransportArchetype>);

}  // namespace keyward::refresh

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/refresh/impl/oauth2_refresh_token.ipp"
#endif
