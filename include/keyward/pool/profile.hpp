// The profiles a CredentialPool is built from (pool.hpp): a name, a credential, a weight and a
// store each.
#pragma once

#include <cstdint>
#include <string>

#include "keyward/credential.hpp"
#include "keyward/credential_store.hpp"

namespace keyward {

/// One profile of a pool whose profiles live in stores of type Store: its name, its credential,
/// its weight and its store (CredentialPool::Profile).
template <class Store>
struct PoolProfile {
  std::string name;          ///< Its name, in messages, events and status.
  Credential credential;     ///< Its credential.
  std::uint32_t weight = 1;  ///< Its share, for Selection::weighted (>= 1).
  Store store{};             ///< Where its credential lives.
};

/// One profile whose credential was loaded from its store (`store.load()`): when another
/// process stored a newer generation meanwhile, that one is used rather than overwritten
/// (CredentialPool::StoredProfile).
template <class Store>
struct StoredPoolProfile {
  std::string name;          ///< Its name, in messages, events and status.
  StoredCredential loaded;   ///< Its credential as loaded from `store`.
  std::uint32_t weight = 1;  ///< Its share, for Selection::weighted (>= 1).
  Store store{};             ///< Where its credential lives.
};

}  // namespace keyward
