// Base64url decoding (RFC 4648 section 5), the encoding of the segments of a JSON Web Token.
//
// The decoder is strict so that each byte string has one accepted spelling (plus its padded
// twin): it rejects bytes outside the URL-safe alphabet (so '+', '/', whitespace and line breaks
// too), lengths no encoder produces, wrong padding and non-zero bits after the last byte. JWS
// omits the '=' padding (RFC 7515 section 2); correct padding from lenient producers is accepted.
// The encoder that keyward writes with lives in text.hpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "keyward/detail/config.hpp"

namespace keyward::detail {

/// Decodes base64url with or without '=' padding, or returns std::nullopt if `text` is not
/// canonical base64url (or memory runs out).
KEYWARD_DECL std::optional<std::string> base64url_decode(std::string_view text) noexcept;

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/base64.ipp"
#endif
