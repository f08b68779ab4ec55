// Reads the expiry of a JSON Web Token (RFC 7519) in JWS compact serialization (RFC 7515), for
// pre-flight validation: a credential whose token has certainly expired is refused before it is
// sent.
//
// NOTHING HERE VERIFIES A SIGNATURE. The claims are read from an unauthenticated payload, so the
// result may only ever answer "has this token already expired?", a question a forged token gains
// nothing from: the worst it can do is stop keyward early. Never use it to decide that a token is
// valid, unexpired in the server's eyes, or whose it is; only the server can say that.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "keyward/detail/config.hpp"

namespace keyward::detail {

/// True if `token` is a JWS compact serialization: three base64url segments, the first a JSON
/// object naming its "alg" and the second a JSON object; says nothing about the signature.
KEYWARD_DECL bool looks_like_jwt(std::string_view token) noexcept;

/// Returns the `exp` claim of a JWT, rounded down to whole seconds and saturating, or
/// std::nullopt if it is not a JWT or has no usable `exp`; the signature is NOT verified.
KEYWARD_DECL std::optional<std::chrono::sys_seconds> jwt_expiry(std::string_view token) noexcept;

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/jwt.ipp"
#endif
