// detail::Redemption: the body of one refresh flight, "lease, re-read, redeem, check, persist".
//
// RefreshCoordinator runs it with no lock held and guarantees that only one flight runs at a
// time, so the redeemed-but-unpersisted credential it keeps needs no lock. That credential is
// kept whatever the store does (fails, throws, conflicts) until it is persisted, so a spent
// refresh token is never presented twice; another holder's newer credential in the store is
// adopted instead of redeeming, before the call and again before trusting an invalid_grant.
#pragma once

#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "keyward/credential.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/detail/credential_state.hpp"
#include "keyward/detail/messages.hpp"
#include "keyward/detail/scrub.hpp"
#include "keyward/error.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/result.hpp"

namespace keyward::detail {

/// What a flight obtained, before the coordinator applies it under its lock.
struct Obtained {
  enum class Kind : std::uint8_t { refreshed, adopted, failed, refused } kind = Kind::failed;
  Credential credential;
  bool redeemed = false;  // this flight made a token call (or used one it made earlier)
  bool kept = false;      // refreshed: redeemed by an earlier flight whose persist failed
  std::optional<std::chrono::seconds> refresh_in;
  bool rotated = false;
  std::uint64_t stored = 0;    // the store generation written or adopted
  std::optional<Error> error;  // failed, refused, or refreshed with an unusable access token
  // Refused: when an earlier refresh of this credential began and never stored its result.
  std::optional<TimePoint> interrupted;
  // Refused without a token call: another holder's refusal of this refresh token, as stored.
  std::optional<RefreshRefusal> recorded;

  // Compiled once (keyward/impl/src.hpp): every flight's result is built, moved and destroyed in
  // many places, and each inlined copy of these members is large.
  KEYWARD_DECL Obtained() noexcept;
  KEYWARD_DECL Obtained(const Obtained& other);
  KEYWARD_DECL Obtained(Obtained&& other) noexcept;
  KEYWARD_DECL Obtained& operator=(const Obtained& other);
  KEYWARD_DECL Obtained& operator=(Obtained&& other) noexcept;
  KEYWARD_DECL ~Obtained();
};

/// One refresh flight's work against a store.
template <CredentialStore Store>
class Redemption {
 public:
  /// `store` and `messages` must outlive the redemption; `wait` bounds the wait for the lease.
  Redemption(Store& store, const Messages& messages, std::chrono::milliseconds wait)
      : store_(store), messages_(messages), wait_(wait) {}

  /// Renews `token`, whose credential the store held at generation `known`. `hooks` redeems
  /// (through the driver's transport) and checks (pre-flight).
  template <class Hooks>
  Obtained obtain(const Token& token, std::uint64_t known, TimePoint now, Hooks& hooks) {
    const Credential& current = token.credential;
    interrupted_.reset();
    recorded_.reset();
    auto lease = store_.lease(wait_);
    if (!lease) return failed(std::move(lease).error());
    if (!lease->held()) {
      if (auto newer = adopt_newer(known, current, true)) return std::move(*newer);
      return failed(make_error(Errc::refresh_failed,
                               "another holder of this login is refreshing it and has not "
                               "finished"));
    }
    if (auto newer = adopt_newer(known, current, true)) return std::move(*newer);
    if constexpr (LosesLeases<Store>) {
      if (!lease->valid()) {  // lost before the token call: make none (a kept one stays kept)
        return failed(make_error(Errc::store_unavailable,
                                 "the refresh lease was lost before the token call (a renewal "
                                 "failed), so none was made; the next request retries"));
      }
    }

    RefreshOutcome outcome;
    kept_ = false;
    if (auto ended = redeem(current, known, now, hooks, outcome)) return std::move(*ended);
    Obtained got = persist(current, known, now, hooks, std::move(outcome));
    got.redeemed = true;  // a token call made now, or by an earlier flight whose persist failed
    got.kept = kept_;
    return got;
  }

 private:
  // Checks and stores a redeemed credential, which is kept until it is stored or provably
  // superseded (docs/fleets.md, "What is guaranteed").
  template <class Hooks>
  Obtained persist(const Credential& current, std::uint64_t known, TimePoint now, Hooks& hooks,
                   RefreshOutcome outcome) {
    std::optional<Error> unusable;
    if (auto problems = hooks.problems(outcome.credential, now)) {
      unusable = messages_.unusable_refresh(*problems);
      if (!outcome.rotated) return failed(std::move(*unusable));
      // Keep the rotated refresh token, which is now the only one the server accepts, with the
      // access token that still serves.
      outcome.credential.token = current.token;
      outcome.credential.expires_at = current.expires_at;
      outcome.refresh_in.reset();
    }

    pending_from_ = current.refresh_token;
    pending_ = outcome;  // kept, whatever the store does, until it is persisted
    auto written = store_.compare_and_swap(known, outcome.credential);
    // A conflict is settled by re-reading: a store that holds another login or another refresh
    // token wins; one that holds the refresh token redeemed from (rewritten by another tool, or
    // by a holder that stored the same tokens again) or nothing (it lost its data) is written.
    for (int tries = 0; tries < 3 && !written && written.error().code == Errc::store_conflict;
         ++tries) {
      auto stored = store_.load();
      if (!stored) break;
      if (stored->generation != 0 && same_secrets(stored->credential, outcome.credential)) {
        written = stored->generation;  // stored already, by this flight's earlier attempt
      } else if (stored->generation != 0 &&
                 !(stored->credential.refresh_token == current.refresh_token)) {
        pending_.reset();  // the redeemed credential lost to a newer login: adopt that
        return adopted(std::move(*stored));
      } else {
        written = store_.compare_and_swap(stored->generation, outcome.credential);
      }
    }
    if (!written) {
      Error error = std::move(written).error();
      // The hook or store was handed the redeemed credential and may quote it; it is installed
      // nowhere, so the cell's scrub would not know its secrets.
      const std::array<std::string_view, 2> unsaved{outcome.credential.token.reveal(),
                                                    outcome.credential.refresh_token.reveal()};
      scrub(error, unsaved);
      error.message =
          "the token was refreshed but the new credential could not be persisted (" +
          error.message +
          "), so it was not used; the next attempt retries the persist without redeeming the "
          "refresh token again";
      error.code = make_error_code(Errc::persist_failed);
      return failed(std::move(error));
    }
    pending_.reset();
    Obtained got;
    got.kind = Obtained::Kind::refreshed;
    got.credential = std::move(outcome.credential);
    got.refresh_in = outcome.refresh_in;
    got.rotated = outcome.rotated;
    got.stored = *written;
    got.error = std::move(unusable);
    return got;
  }

  // The store's credential when another holder wrote a newer one since `known`.
  // Fills `outcome`: kept from an earlier flight whose persist failed, or redeemed now (after
  // the store's mark, in a store that marks refreshes). What the flight ends with, if not that.
  template <class Hooks>
  std::optional<Obtained> redeem(const Credential& current, std::uint64_t& known, TimePoint now,
                                 Hooks& hooks, RefreshOutcome& outcome) {
    if (pending_ && pending_from_ == current.refresh_token) {
      outcome = *pending_;  // redeemed already: only the persist is left to do
      kept_ = true;
      return std::nullopt;
    }
    pending_.reset();
    if (recorded_) {  // refused already, for another holder: never presented again
      Obtained refused;
      refused.kind = Obtained::Kind::refused;
      refused.error = make_error(Errc::needs_reauth, recorded_->reason);
      Verdict verdict;
      verdict.kind = VerdictKind::unauthenticated;
      verdict.scope = Scope::credential;
      refused.error->verdict = verdict;
      refused.recorded = recorded_;
      return refused;
    }
    if constexpr (MarksRefreshes<Store>) {
      auto marked = store_.mark_refreshing(known, now);
      if (!marked && marked.error().code == Errc::store_conflict) {
        // Changed since the re-read: look again, then mark what is there now.
        if (auto newer = adopt_newer(known, current, true)) return newer;
        marked = store_.mark_refreshing(known, now);
      }
      if (!marked) return failed(std::move(marked).error());  // no mark, no token call
    }
    auto redeemed = hooks.redeem(current, now);
    if (redeemed) {
      outcome = std::move(*redeemed);
      return std::nullopt;
    }
    Error error = std::move(redeemed).error();
    if (error.code != Errc::needs_reauth) {
      Obtained got = failed(std::move(error));
      got.redeemed = true;
      return got;
    }
    // Another holder may have rotated the refresh token meanwhile: trust invalid_grant only
    // when the store still holds the credential that was refused. This flight's own marker is
    // not an interrupted refresh.
    if (auto newer = adopt_newer(known, current, false)) return newer;
    if constexpr (RecordsRefusals<Store>) {  // for every other holder; best effort
      static_cast<void>(
          store_.mark_refused(known, RefreshRefusal{now, refusal_reason(error, current)}));
    }
    Obtained refused;
    refused.kind = Obtained::Kind::refused;
    refused.redeemed = true;
    refused.error = std::move(error);
    refused.interrupted = interrupted_;
    return refused;
  }

  // The same secrets under another generation (another tool rewrote the profile, a holder
  // stored the same tokens again) move `known` to it. With `before_call`, also remembers a
  // refresh of it that never stored its result.
  std::optional<Obtained> adopt_newer(std::uint64_t& known, const Credential& current,
                                      bool before_call) {
    auto stored = store_.load();
    if (!stored || stored->generation == 0) return std::nullopt;
    if (stored->generation == known || same_secrets(stored->credential, current)) {
      known = stored->generation;
      if (before_call && stored->refresh_pending) interrupted_ = stored->refresh_pending;
      if (before_call && stored->refresh_refused &&
          stored->credential.refresh_token == current.refresh_token) {
        recorded_ = std::move(stored->refresh_refused);
      }
      return std::nullopt;
    }
    return adopted(std::move(*stored));
  }

  // What a store records of a refusal: the status and the error code, never the server's text,
  // which may quote the request.
  static std::string refusal_reason(const Error& error, const Credential& current) {
    std::string reason = "the token endpoint answered";
    if (!error.verdict) return reason + " that it refuses the refresh token";
    if (error.verdict->status != 0) reason += " HTTP " + std::to_string(error.verdict->status);
    const std::array<std::string_view, 2> secrets{current.token.reveal(),
                                                  current.refresh_token.reveal()};
    std::string code = clean_and_scrub(error.verdict->provider_code, secrets, 64);
    std::erase_if(code, [](char c) {  // an OAuth error code is a word: keep nothing else
      return !(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' ||
               c == '.');
    });
    if (!code.empty()) reason += " " + code;
    return reason;
  }

  static Obtained adopted(StoredCredential stored) {
    Obtained got;
    got.kind = Obtained::Kind::adopted;
    got.credential = std::move(stored.credential);
    got.stored = stored.generation;
    return got;
  }

  static Obtained failed(Error error) {
    Obtained got;
    got.kind = Obtained::Kind::failed;
    got.error = std::move(error);
    return got;
  }

  Store& store_;
  const Messages& messages_;
  std::chrono::milliseconds wait_;
  std::optional<RefreshOutcome> pending_;   // redeemed, not yet persisted
  Secret pending_from_;                     // the refresh token that redeemed it
  std::optional<TimePoint> interrupted_;    // a refresh the store's mark says never finished
  bool kept_ = false;                       // this flight persists what an earlier one redeemed
  std::optional<RefreshRefusal> recorded_;  // the store says this refresh token was refused
};

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/redemption.ipp"
#endif
