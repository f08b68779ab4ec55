// The Attacher role: how a credential is placed on a request.
//
// The generic default sends every kind as `Authorization: Bearer`, which RFC 6750 APIs and many
// API-key APIs accept; provider policies place credentials their own way (`x-api-key`, extra
// headers for OAuth tokens).
//
// An attacher may also offer the allocation-free path (PreparingAttacher): prepare() builds the
// fields a credential places once, when the credential is installed, and the three-argument
// attach() lends them to each request (Headers::lend) instead of building strings per request.
#pragma once

#include <concepts>
#include <span>
#include <string>
#include <vector>

#include "keyward/credential.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// Places a credential on a request, replacing any placement from an earlier attempt.
template <class A>
concept Attacher = requires(const A& attacher, Request& request, const Credential& credential) {
  attacher.attach(request, credential);
};

/// An Attacher that prepares a credential's fields once and lends them to every request.
template <class A>
concept PreparingAttacher = Attacher<A> &&
    requires(const A& attacher, Request& request, const Credential& credential,
             std::span<const Headers::Field> prepared) {
  { attacher.prepare(credential) } -> std::same_as<std::vector<Headers::Field>>;
  attacher.attach(request, credential, prepared);
};

/// Sends the token as `Authorization: Bearer <token>` (RFC 6750 section 2.1).
struct BearerAttacher {
  /// The field this credential places: `authorization: Bearer <token>`.
  [[nodiscard]] std::vector<Headers::Field> prepare(const Credential& credential) const {
    std::string value = "Bearer ";
    value.append(credential.token.reveal());
    return {{"authorization", std::move(value)}};
  }
  /// Lends the prepared field, replacing the request's own authorization field.
  void attach(Request& request, const Credential& /*credential*/,
              std::span<const Headers::Field> prepared) const {
    request.headers.lend({});
    request.headers.erase("authorization");
    request.headers.lend(prepared);
  }
  /// Sets the Authorization header (the path for requests outside ResilientCredential).
  void attach(Request& request, const Credential& credential) const {
    request.headers.lend({});
    request.headers.set("authorization", prepare(credential).front().second);
  }
};

static_assert(PreparingAttacher<BearerAttacher>);

}  // namespace keyward
