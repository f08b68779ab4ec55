// Definitions for keyward/credential.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "keyward/credential.hpp"
#include "keyward/detail/known_prefixes.hpp"

namespace keyward {

KEYWARD_DECL std::string fingerprint(std::string_view secret) {
  constexpr std::size_t kMinLengthToShow = 16;
  constexpr std::size_t kMinHidden = 12;
  if (secret.size() < kMinLengthToShow) return "…";
  std::string out;
  for (const detail::KnownPrefix& known : detail::kKnownPrefixes) {
    const std::string_view prefix = known.prefix;
    if (secret.starts_with(prefix)) {
      if (secret.size() - prefix.size() >= kMinHidden) out.append(prefix);
      break;  // the longest matching prefix decides
    }
  }
  out.append("…");
  out.append(secret.substr(secret.size() - 4));
  return out;
}

KEYWARD_DECL std::string fingerprint(const Credential& credential) {
  std::string out{to_string(credential.kind)};
  out.append(" ");
  out.append(fingerprint(credential.token.reveal()));
  return out;
}

}  // namespace keyward
