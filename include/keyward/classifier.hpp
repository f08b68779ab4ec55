// The Classifier role and its vocabulary: what a response means for the credential that sent it.
//
// A classifier turns a response (status, headers, body) or a transport failure into a Verdict:
// its kind says what happened, its scope says who it is about (this request, this credential,
// or the whole provider), and the rest carries what the server said: whether to retry, how long
// to wait, its own error code and message, and its request id. Classifiers are pure: they take
// `now` in a ClassifyContext and never read a clock.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/credential_kind.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// Wall-clock time as keyward sees it; the Clock policy provides it.
using TimePoint = std::chrono::system_clock::time_point;

/// What a response means (README, "What it does with each response").
enum class VerdictKind : std::uint8_t {
  ok,               ///< Success.
  unauthenticated,  ///< The credential was rejected.
  misconfigured,    ///< The credential was sent wrongly or cannot be used for this API.
  forbidden,        ///< This credential may not make this request.
  rate_limited,     ///< Slow down.
  quota_exhausted,  ///< Credits or quota are gone.
  overloaded,       ///< The provider is overloaded.
  transient,        ///< A server or network failure that may pass.
  request_error,    ///< The request itself is wrong.
};

/// Who a verdict is about.
enum class Scope : std::uint8_t {
  request,     ///< This request only.
  credential,  ///< The credential that sent it.
  provider,    ///< The provider as a whole.
};

/// What kind of endpoint answered: an API, or an OAuth 2.0 token endpoint (RFC 6749 section 5).
enum class Endpoint : std::uint8_t { api, token };

/// A classified response.
struct Verdict {
  VerdictKind kind = VerdictKind::ok;                      ///< What happened.
  Scope scope = Scope::request;                            ///< Who it is about.
  bool retryable = false;                                  ///< Whether sending again may succeed.
  std::optional<std::chrono::milliseconds> retry_after{};  ///< The server's wait, capped.
  int status = 0;               ///< The HTTP status, 0 for a transport failure.
  std::string provider_code{};  ///< The provider's own error code, if it sent one.
  std::string message{};        ///< The provider's message, if it sent one.
  std::string request_id{};     ///< The provider's request id, if it sent one.
  std::string fix{};  ///< What a person should do, when the classifier knows better than generic.
};

/// What a classifier may need besides the response itself.
struct ClassifyContext {
  Endpoint endpoint = Endpoint::api;  ///< The kind of endpoint that answered.
  /// The current time, for waits given as dates. A 2xx that no decision needed the clock for
  /// is classified first with the epoch here, and again with the time if it is not found ok.
  TimePoint now{};
  /// The kind of credential the request carried, when known (an OAuth token rejected as an API
  /// key is misconfigured, not unauthenticated).
  std::optional<CredentialKind> credential{};
};

/// Turns responses and transport failures into verdicts; must never throw on any input.
template <class C>
concept Classifier = requires(const C& classifier, const Response& response,
                              const TransportFailure& failure, const ClassifyContext& context) {
  { classifier.classify(response, context) } -> std::same_as<Verdict>;
  { classifier.classify(failure) } -> std::same_as<Verdict>;
};

/// The scope a verdict kind has unless a classifier knows better.
[[nodiscard]] constexpr Scope default_scope(VerdictKind kind) noexcept {
  switch (kind) {
    case VerdictKind::unauthenticated:
    case VerdictKind::misconfigured:
    case VerdictKind::rate_limited:
    case VerdictKind::quota_exhausted:
      return Scope::credential;
    case VerdictKind::overloaded:
    case VerdictKind::transient:
      return Scope::provider;
    case VerdictKind::ok:
    case VerdictKind::forbidden:
    case VerdictKind::request_error:
      break;
  }
  return Scope::request;
}

/// Whether a verdict kind is worth retrying unless the server says otherwise.
[[nodiscard]] constexpr bool default_retryable(VerdictKind kind) noexcept {
  return kind == VerdictKind::rate_limited || kind == VerdictKind::overloaded ||
         kind == VerdictKind::transient;
}

/// The name of a verdict kind, as used in fixtures and JSON.
[[nodiscard]] constexpr std::string_view to_string(VerdictKind kind) noexcept {
  switch (kind) {
    case VerdictKind::ok:
      return "ok";
    case VerdictKind::unauthenticated:
      return "unauthenticated";
    case VerdictKind::misconfigured:
      return "misconfigured";
    case VerdictKind::forbidden:
      return "forbidden";
    case VerdictKind::rate_limited:
      return "rate_limited";
    case VerdictKind::quota_exhausted:
      return "quota_exhausted";
    case VerdictKind::overloaded:
      return "overloaded";
    case VerdictKind::transient:
      return "transient";
    case VerdictKind::request_error:
      return "request_error";
  }
  return "unknown";
}

/// The name of a scope, as used in fixtures and JSON.
[[nodiscard]] constexpr std::string_view to_string(Scope scope) noexcept {
  switch (scope) {
    case Scope::request:
      return "request";
    case Scope::credential:
      return "credential";
    case Scope::provider:
      return "provider";
  }
  return "unknown";
}

}  // namespace keyward
