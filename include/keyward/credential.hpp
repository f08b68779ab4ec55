// Credentials: what keyward keeps alive, and the one safe way to name one in a message.
//
// A Credential is an API key, a static bearer token, or an OAuth access token with its refresh
// token and expiry. The secret parts live in Secret, which has no stream operator, is wiped when
// released, and is named in messages only through fingerprint(): the kind, a well-known prefix
// and the last four characters, never more.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/classifier.hpp"
#include "keyward/credential_kind.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/detail/wipe.hpp"

namespace keyward {

/// A secret string: no stream operator, wiped when destroyed or overwritten.
class Secret {
 public:
  Secret() = default;
  /// Takes ownership of the secret's characters.
  Secret(std::string value) : value_(std::move(value)) {}  // NOLINT: configs assign strings
  /// Builds a secret from a C string.
  Secret(const char* value) : value_(value) {}  // NOLINT: configs assign literals
  /// Copies the secret.
  Secret(const Secret&) = default;
  /// Moves the secret, wiping the source (a moved-from short string keeps its bytes).
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  /// Replaces this secret with a copy of `other`, wiping the old one first.
  Secret& operator=(const Secret& other) {
    if (this != &other) {
      wipe();
      value_ = other.value_;
    }
    return *this;
  }
  /// Replaces this secret with `other`'s, wiping the old one and the source.
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      wipe();
      value_ = std::move(other.value_);
      other.wipe();
    }
    return *this;
  }
  ~Secret() { wipe(); }

  /// The secret's characters, for attaching it to a request; never log them.
  [[nodiscard]] std::string_view reveal() const noexcept { return value_; }
  /// True when there is no secret.
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }
  /// The length of the secret.
  [[nodiscard]] std::size_t size() const noexcept { return value_.size(); }
  /// Compares two secrets.
  friend bool operator==(const Secret& a, const Secret& b) noexcept { return a.value_ == b.value_; }

 private:
  void wipe() noexcept { detail::wipe(value_); }
  std::string value_;
};

/// A credential: the secret sent with requests and, for OAuth, what renews it.
struct Credential {
  CredentialKind kind = CredentialKind::api_key;  ///< What kind of credential.
  Secret token;                         ///< The API key, bearer token or OAuth access token.
  Secret refresh_token;                 ///< The OAuth refresh token; empty when there is none.
  std::optional<TimePoint> expires_at;  ///< When the token expires, if known.

  /// An API key.
  static Credential api_key(std::string key) {
    return {CredentialKind::api_key, std::move(key), {}, std::nullopt};
  }
  /// A static bearer token, with its expiry if known.
  static Credential bearer(std::string token, std::optional<TimePoint> expires_at = {}) {
    return {CredentialKind::bearer_token, std::move(token), {}, expires_at};
  }
  /// An OAuth access token with its refresh token (may be empty) and expiry.
  static Credential oauth(std::string access_token, std::string refresh_token,
                          std::optional<TimePoint> expires_at) {
    return {CredentialKind::oauth, std::move(access_token), std::move(refresh_token), expires_at};
  }
};

/// A redacted name for a secret: its well-known public prefix, if any, and its last four
/// characters.
///
/// `sk-ant-oat01-...x7Qa` becomes "sk-ant-oat01-…x7Qa". Only the prefixes providers publish are
/// shown (a random token's first characters stay hidden), and only when at least 12 characters
/// follow. Secrets shorter than 16 characters show no characters at all, since four of them
/// would be too large a part of the secret.
[[nodiscard]] KEYWARD_DECL std::string fingerprint(std::string_view secret);

/// The redacted name of a credential: its kind and the fingerprint of its token.
[[nodiscard]] KEYWARD_DECL std::string fingerprint(const Credential& credential);

}  // namespace keyward

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/impl/credential.ipp"
#endif
