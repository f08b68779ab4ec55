// store::Memory: the default CredentialStore, in this process's memory, with an optional persist
// hook that makes it durable.
//
// Without a hook, a rotated refresh token lives only as long as the process: status() reports
// `rotation_unpersisted` and an event says so. With a hook, every write after the first (each
// refresh's result and each set_credential()) calls it before the write takes effect; if it fails
// or throws, the store is unchanged and the caller gets the error, and the redeemed credential is
// kept for the next attempt, so a spent refresh token is never redeemed twice.
//
//     keyward::store::Memory store{[&](const keyward::Credential& c) -> keyward::Result<void> {
//       return save_to_my_config(c);  // keyward::unexpected(keyward::make_error(...)) on failure
//     }};
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "keyward/credential.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/error.hpp"
#include "keyward/result.hpp"

namespace keyward::store {

/// A credential store in memory; copies share the stored credential and the lease.
class Memory {
 public:
  /// Stores a credential that keyward has installed; an error leaves the store unchanged.
  using PersistHook = std::function<Result<void>(const Credential&)>;

 private:
  // What the copies of one store share.
  struct Shared {
    std::mutex mutex;
    std::condition_variable released;
    StoredCredential stored;
    bool leased = false;
    PersistHook persist;
  };

 public:
  /// The refresh lease; released when destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    /// Takes over `other`'s lease.
    Lease(Lease&& other) noexcept : shared_(std::move(other.shared_)) {}
    /// Releases this lease and takes over `other`'s.
    Lease& operator=(Lease&& other) noexcept {
      if (this != &other) {
        release();
        shared_ = std::move(other.shared_);
      }
      return *this;
    }
    ~Lease() { release(); }
    /// True when this caller holds the lease.
    [[nodiscard]] bool held() const noexcept { return shared_ != nullptr; }

   private:
    friend class Memory;
    explicit Lease(std::shared_ptr<Shared> shared) noexcept : shared_(std::move(shared)) {}
    KEYWARD_DECL void release() noexcept;
    std::shared_ptr<Shared> shared_;
  };

  /// A store that keeps the credential in memory only.
  Memory() = default;
  /// A store that also calls `persist` for every write after the first.
  explicit Memory(PersistHook persist) { shared_->persist = std::move(persist); }

  /// The stored credential and its generation (0 before the first write).
  [[nodiscard]] Result<StoredCredential> load() const {
    const std::scoped_lock lock(shared_->mutex);
    return shared_->stored;
  }

  /// Writes `next` if the stored generation is `expected`; calls the persist hook first, except
  /// for the first write (the application's own credential, which it already has).
  [[nodiscard]] KEYWARD_DECL Result<std::uint64_t> compare_and_swap(std::uint64_t expected,
                                                                    const Credential& next);

  /// Takes the refresh lease, waiting up to `wait` while another holder has it.
  [[nodiscard]] KEYWARD_DECL Result<Lease> lease(std::chrono::milliseconds wait);

  /// True when a persist hook makes writes outlive the process.
  [[nodiscard]] bool durable() const noexcept { return static_cast<bool>(shared_->persist); }

 private:
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

static_assert(CredentialStore<Memory>);

}  // namespace keyward::store

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/store/impl/memory.ipp"
#endif
