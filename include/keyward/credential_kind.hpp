// CredentialKind: what kind of secret a credential is, known to classifiers and attachers alike.
#pragma once

#include <cstdint>
#include <string_view>

namespace keyward {

/// What kind of credential it is.
enum class CredentialKind : std::uint8_t {
  api_key,       ///< A provider API key; never refreshes.
  bearer_token,  ///< A static bearer token (a long-lived setup token); never refreshes.
  oauth,         ///< An OAuth 2.0 access token, refreshable when it has a refresh token.
};

/// The name of a credential kind.
[[nodiscard]] constexpr std::string_view to_string(CredentialKind kind) noexcept {
  switch (kind) {
    case CredentialKind::api_key:
      return "api_key";
    case CredentialKind::bearer_token:
      return "bearer_token";
    case CredentialKind::oauth:
      return "oauth";
  }
  return "unknown";
}

}  // namespace keyward
