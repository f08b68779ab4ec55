// The Attacher role: how a credential is placed on a request.
//
// The generic default sends every kind as `Authorization: Bearer`, which RFC 6750 APIs and many
// API-key APIs accept; provider policies place credentials their own way (`x-api-key`, extra
// headers for OAuth tokens).
#pragma once

#include <concepts>
#include <string>

#include "keyward/credential.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// Places a credential on a request, replacing any placement from an earlier attempt.
template <class A>
concept Attacher = requires(const A& attacher, Request& request, const Credential& credential) {
  attacher.attach(request, credential);
};

/// Sends the token as `Authorization: Bearer <token>` (RFC 6750 section 2.1).
struct BearerAttacher {
  /// Sets the Authorization header.
  void attach(Request& request, const Credential& credential) const {
    std::string value = "Bearer ";
    value.append(credential.token.reveal());
    request.headers.set("authorization", std::move(value));
  }
};

static_assert(Attacher<BearerAttacher>);

}  // namespace keyward
