// The CredentialStore role: where a credential lives beyond one ResilientCredential.
//
// Refresh has one owner of "lease, re-read, redeem, persist, publish" (RefreshCoordinator), and
// the store is what it leases, re-reads and persists to:
//   - load() returns the stored credential with its generation (0: nothing stored yet);
//   - compare_and_swap(expected, next) writes `next` only if the stored generation is still
//     `expected`, and returns the new generation; Errc::store_conflict when another writer came
//     first, so that a credential that changed since it was read is never overwritten;
//   - lease(wait) takes the refresh lease, waiting up to `wait` for another holder, so that
//     holders that share the store (threads, processes, hosts) redeem a refresh token once; the
//     Lease releases it when destroyed, and held() says whether this caller got it;
//   - durable() says whether a write outlives the process (a rotated refresh token written to a
//     store that is not durable is lost at exit, and status() says so);
//   - optionally, mark_refreshing(generation, now) durably records that a token call is about to
//     be made, and the next write removes the mark: a mark found later means a refresh never
//     stored its result, and a refusal of the refresh token then says the new one was lost.
// A store is a handle: copies share one stored credential, so two profiles that share one login
// can share one store. store::Memory is the default; file and Redis stores fit the same concept.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>

#include "keyward/credential.hpp"
#include "keyward/result.hpp"

namespace keyward {

/// A refresh token the token endpoint refused, as a store records it for every holder.
struct RefreshRefusal {
  TimePoint at{};      ///< When the token endpoint refused it.
  std::string reason;  ///< What it answered, without secrets (`HTTP 400 invalid_grant`).
};

/// A stored credential and its generation in the store (0 when nothing is stored).
struct StoredCredential {
  Credential credential{};       ///< The credential; empty when generation is 0.
  std::uint64_t generation = 0;  ///< Incremented by every write.
  /// When a refresh of this credential began and never stored its result (a store that marks
  /// refreshes, such as store::File); the refresh token may have been spent.
  std::optional<TimePoint> refresh_pending{};
  /// When and why the token endpoint refused this credential's refresh token (a store that
  /// records refusals, such as store::File): no holder presents it again. The next write of a
  /// credential removes it.
  std::optional<RefreshRefusal> refresh_refused{};
};

/// Stores a credential with a generation, compare-and-swap writes and a refresh lease.
template <class S>
concept CredentialStore = std::movable<typename S::Lease> &&
    requires(S& store, const S& const_store, std::uint64_t expected, const Credential& next,
             std::chrono::milliseconds wait, const typename S::Lease& lease) {
  { store.load() } -> std::same_as<Result<StoredCredential>>;
  { store.compare_and_swap(expected, next) } -> std::same_as<Result<std::uint64_t>>;
  { store.lease(wait) } -> std::same_as<Result<typename S::Lease>>;
  { lease.held() } -> std::same_as<bool>;
  { const_store.durable() } -> std::same_as<bool>;
};

/// A cooldown window one holder of a login opened, for the others (rate limits and quotas).
struct SharedCooldown {
  std::uint64_t generation = 0;                    ///< The store generation it applies to.
  VerdictKind reason = VerdictKind::rate_limited;  ///< rate_limited or quota_exhausted.
  TimePoint until{};                               ///< When it ends.
};

/// A CredentialStore that shares cooldown windows between its holders (store::Redis;
/// store::File in OpenClaw's `usageStats`, docs/credentials-file.md "Cooldowns"; store::OpenClaw
/// in OpenClaw's SQLite state, docs/openclaw.md "Shared cooldowns"): a holder
/// that is told to wait shares the window, and the others apply it before their next request
/// instead of each hitting the limit themselves. A window never shrinks.
template <class S>
concept SharesCooldowns = CredentialStore<S> &&
    requires(S& store, const S& const_store, const SharedCooldown& window) {
  { store.share_cooldown(window) } -> std::same_as<Result<void>>;
  { const_store.shared_cooldown() } -> std::same_as<Result<std::optional<SharedCooldown>>>;
};

/// A CredentialStore whose lease can be lost while held (store::Redis: a renewal failed, or the
/// server forgot it): valid() says whether it still holds, and no token call starts without it.
template <class S>
concept LosesLeases = CredentialStore<S> && requires(const typename S::Lease& lease) {
  { lease.valid() } -> std::same_as<bool>;
};

/// A CredentialStore that durably marks a refresh before its token call (see above).
template <class S>
concept MarksRefreshes = CredentialStore<S> &&
    requires(S& store, std::uint64_t generation, TimePoint now) {
  { store.mark_refreshing(generation, now) } -> std::same_as<Result<void>>;
};

/// A CredentialStore that records a refused refresh token for every holder of the login.
template <class S>
concept RecordsRefusals = CredentialStore<S> &&
    requires(S& store, std::uint64_t generation, const RefreshRefusal& refusal) {
  { store.mark_refused(generation, refusal) } -> std::same_as<Result<void>>;
};

}  // namespace keyward
