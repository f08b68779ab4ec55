// Definitions for keyward/store/memory.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

#include "keyward/credential.hpp"
#include "keyward/error.hpp"
#include "keyward/result.hpp"
#include "keyward/store/memory.hpp"

namespace keyward::store {

KEYWARD_DECL void Memory::Lease::release() noexcept {
  if (!shared_) return;
  {
    const std::scoped_lock lock(shared_->mutex);
    shared_->leased = false;
  }
  shared_->released.notify_all();
  shared_.reset();
}

KEYWARD_DECL Result<std::uint64_t> Memory::compare_and_swap(std::uint64_t expected,
                                                            const Credential& next) {
  const std::scoped_lock lock(shared_->mutex);
  StoredCredential& stored = shared_->stored;
  if (stored.generation != expected) {
    return unexpected(
        make_error(Errc::store_conflict, "the stored credential changed meanwhile (generation " +
                                             std::to_string(stored.generation) + ", expected " +
                                             std::to_string(expected) + ")"));
  }
  if (shared_->persist && stored.generation != 0) {
    if (auto persisted = shared_->persist(next); !persisted) {
      Error error = std::move(persisted).error();
      error.code = Errc::persist_failed;
      return unexpected(std::move(error));
    }
  }
  stored.credential = next;
  return ++stored.generation;
}

KEYWARD_DECL Result<Memory::Lease> Memory::lease(std::chrono::milliseconds wait) {
  std::unique_lock lock(shared_->mutex);
  if (!shared_->released.wait_for(lock, wait, [this] { return !shared_->leased; })) {
    return Lease{};
  }
  shared_->leased = true;
  return Lease{shared_};
}

}  // namespace keyward::store
