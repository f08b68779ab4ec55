// RefreshCoordinator: single-flight refresh, the one owner of "lease, re-read, redeem, persist,
// publish".
//
// One refresh at a time per credential: the first caller that needs one runs it, soft callers
// carry on with the current token meanwhile, hard and rejected callers wait (with a deadline on
// the injected clock). A refresh takes the store's lease, re-reads the store (another holder may
// have rotated already: adopt its credential), redeems the refresh token through the strategy,
// checks the new token with pre-flight, writes it to the store by compare-and-swap, and only
// then publishes it to the CredentialCell. A redeemed credential is kept until it is persisted,
// whatever throws, so a spent refresh token is never redeemed twice. A refresh token that the
// token endpoint refuses while the access token is still valid leaves that token serving until
// it expires; status() and an event say by when a person must log in.
//
// The coordinator does no I/O of its own: the driver's Hooks redeem (through its transport),
// check, and notify the observer. Exceptions from any of them reach the caller; the RAII Flight
// ends the refresh either way, so the credential is never left "refreshing".
//
// Why this header is over 300 lines: single flight, the backoff after failures, the rules for a
// refused refresh token and the replacement path all change the same state under one mutex;
// the flight's own work (lease, re-read, redeem, persist) is in detail/redemption.hpp.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "keyward/credential.hpp"
#include "keyward/credential_cell.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/detail/backoff.hpp"
#include "keyward/detail/messages.hpp"
#include "keyward/detail/redemption.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/detail/time.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/options.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/result.hpp"
#include "keyward/status.hpp"

namespace keyward {

/// Single-flight refresh of one CredentialCell's credential through a CredentialStore.
template <class Cell, CredentialStore Store, class Clock>
class RefreshCoordinator {
 public:
  /// A published token: the credential, its generation and its refresh thresholds.
  using TokenPtr = std::shared_ptr<const detail::Token>;
  /// What one refresh flight obtained: a credential, or why not.
  using Obtained = detail::Obtained;

  /// `options`, `cell`, `store` and `clock` must outlive the coordinator.
  RefreshCoordinator(const CredentialOptions& options, Cell& cell, Store& store, const Clock& clock)
      : options_(options),
        cell_(cell),
        store_(store),
        clock_(clock),
        redemption_(store, cell.messages(), options.refresh.wait_timeout) {}

  /// Writes the application's first credential to the store unless the store holds it already;
  /// throws std::runtime_error when the store fails.
  void seed(const Credential& credential) {
    auto stored = store_.load();
    if (stored && stored->generation != 0 && detail::same_secrets(stored->credential, credential)) {
      known_ = stored->generation;
      return;
    }
    auto written = stored ? store_.compare_and_swap(stored->generation, credential)
                          : Result<std::uint64_t>{unexpected(std::move(stored).error())};
    if (!written) fail_seed(written.error());
    known_ = *written;
  }

  /// The store generation of the installed credential.
  [[nodiscard]] std::uint64_t known() const {
    const std::scoped_lock lock(mutex_);
    return known_;
  }

  /// Starts from `loaded`, as the application read it from the store, and never writes it over
  /// what the store holds: when the store holds another generation by now (another process
  /// refreshed it meanwhile), that credential is installed instead; an empty store gets `loaded`.
  /// Throws std::runtime_error when the store fails.
  template <class Hooks>
  void seed(const StoredCredential& loaded, TimePoint now, Hooks& hooks) {
    for (;;) {
      auto stored = store_.load();
      if (!stored) fail_seed(stored.error());
      if (stored->generation == 0) {
        auto written = store_.compare_and_swap(0, loaded.credential);
        if (!written && written.error().code == Errc::store_conflict) continue;  // look again
        if (!written) fail_seed(written.error());
        known_ = *written;
        return;
      }
      known_ = stored->generation;
      if (stored->generation == loaded.generation ||
          detail::same_secrets(stored->credential, loaded.credential) ||
          hooks.problems(stored->credential, now)) {
        return;  // what the cell holds is current, or the store's cannot be used
      }
      TokenTraits traits = hooks.traits(stored->credential);
      cell_.install(cell_.snapshot()->token->generation, std::move(stored->credential),
                    std::move(traits), now, std::nullopt, false);
      return;
    }
  }

  /// Refreshes generation `seen` (single flight), or waits for the refresh in flight. Returns an
  /// error only when the caller cannot go on with what is installed: a rejected or expired token
  /// without a new one, a failed persist, or a credential that now needs a person.
  template <class Hooks>
  Result<void> refresh(std::uint64_t seen, RefreshNeed need, TimePoint now, Hooks& hooks) {
    std::unique_lock lock(mutex_);
    if (auto waited = wait_for_flight(lock, seen, need)) return std::move(*waited);
    const TokenPtr token = cell_.snapshot()->token;
    if (token->generation != seen) return {};
    if (refused_ && refused_->generation == seen) {
      auto out = on_refused(*token, need, now);
      lock.unlock();
      return finish(std::move(out), hooks);
    }
    if (next_attempt_ && now < *next_attempt_) {
      if (!must_succeed(*token, need, now)) return {};
      return unexpected(last_error_ ? *last_error_ : cell_.messages().no_new_token(true));
    }
    refreshing_ = true;
    const std::uint64_t known = known_;
    lock.unlock();
    // An exception (from the strategy, the store or a hook) is a local fault, not the token
    // endpoint's answer: it starts no backoff, and the Flight's end wakes the waiters, one of
    // which makes the next attempt.
    Flight flight{*this};
    Scrubbed<Hooks> scrubbed{hooks, cell_};
    Obtained got = redemption_.obtain(*token, known, now, scrubbed);
    const bool redeemed = got.redeemed;
    lock.lock();
    Outcome out = apply(token, std::move(got), need, now, hooks);
    if (redeemed) {  // only the holder that made the token call says it refreshed
      out.events.insert(out.events.begin(),
                        Emit{EventKind::refresh_started, token, std::nullopt, std::nullopt});
    }
    refreshing_ = false;
    lock.unlock();
    done_.notify_all();
    flight.dismiss();
    return finish(std::move(out), hooks);
  }

  /// refresh(), and then an error for a caller whose token was rejected or has expired when no
  /// new token came of it.
  template <class Hooks>
  Result<void> renew(std::uint64_t seen, RefreshNeed need, TimePoint now, Hooks& hooks) {
    if (auto refreshed = refresh(seen, need, now, hooks); !refreshed) return refreshed;
    if (need == RefreshNeed::soft || cell_.generation() != seen) return {};
    const bool expired =
        cell_.read([&](const detail::Snapshot& s) { return s.token->expired(now); });
    if (need == RefreshNeed::rejected || expired) {
      return unexpected(cell_.messages().no_new_token(expired));
    }
    return {};
  }

  /// Installs a person's replacement: written to the store, ready at once, every wait ended.
  template <class Hooks>
  Result<TokenPtr> replace(Credential credential, TimePoint now, Hooks& hooks) {
    TokenPtr token;
    {
      const std::scoped_lock lock(mutex_);
      auto written = store_.compare_and_swap(known_, credential);
      if (!written && written.error().code == Errc::store_conflict) {
        if (auto stored = store_.load()) {
          written = store_.compare_and_swap(stored->generation, credential);
        }
      }
      if (!written) return unexpected(std::move(written).error());
      known_ = *written;
      TokenTraits traits = hooks.traits(credential);
      token = cell_.replace(std::move(credential), std::move(traits), now);
      failures_ = 0;
      set_next_attempt(std::nullopt);
      last_error_.reset();
      refused_.reset();
      rotation_unpersisted_ = false;
    }
    done_.notify_all();
    return token;
  }

  /// True while a failed refresh backs off: a soft caller need not ask.
  [[nodiscard]] bool quiet(TimePoint now) const noexcept {
    return now.time_since_epoch().count() < quiet_until_.load(std::memory_order_relaxed);
  }

  /// Fills the refresh part of `status`.
  void describe(Status& status) const {
    const std::scoped_lock lock(mutex_);
    if (refreshing_ && status.state == CredentialState::ready) {
      status.state = CredentialState::refreshing;
    }
    status.last_refresh = last_refresh_;
    status.refresh_failures = failures_;
    if (refused_) {
      status.refresh_error = refused_->note;
      status.reauth_by = refused_->expiry;
    } else if (last_error_) {
      status.refresh_error = last_error_->message;
    }
    if (status.last_error.empty()) status.last_error = status.refresh_error;
    status.rotation_unpersisted = rotation_unpersisted_;
  }

 private:
  // An event to emit once the lock is released.
  struct Emit {
    EventKind kind;
    TokenPtr token;
    std::optional<Verdict> verdict;
    std::optional<TimePoint> until;
  };

  // The caller's result and the events to emit.
  struct Outcome {
    Result<void> result;
    std::vector<Emit> events;
  };

  // A refresh token the token endpoint refused, while the access token could still serve.
  struct Refused {
    std::uint64_t generation = 0;
    Verdict verdict;
    std::optional<TimePoint> expiry;
    std::string note;
    std::string cause;  // why the token endpoint may have refused it: an interrupted refresh
    detail::RefusedBy by = detail::RefusedBy::token_endpoint;
    bool announced = false;
  };

  [[noreturn]] void fail_seed(const Error& error) const {
    throw std::runtime_error(cell_.messages().prefix() +
                             "the credential store failed: " + error.message);
  }

  // Ends the flight if an exception leaves refresh() early.
  class Flight {
   public:
    explicit Flight(RefreshCoordinator& owner) noexcept : owner_(&owner) {}
    Flight(const Flight&) = delete;
    Flight& operator=(const Flight&) = delete;
    Flight(Flight&&) = delete;
    Flight& operator=(Flight&&) = delete;
    ~Flight() {
      if (owner_ == nullptr) return;
      {
        const std::scoped_lock lock(owner_->mutex_);
        owner_->refreshing_ = false;
      }
      owner_->done_.notify_all();
    }
    void dismiss() noexcept { owner_ = nullptr; }

   private:
    RefreshCoordinator* owner_;
  };

  // A hard or rejected caller, or one whose token has expired, cannot go on without a new token.
  static bool must_succeed(const detail::Token& token, RefreshNeed need, TimePoint now) {
    return need == RefreshNeed::rejected || token.expired(now);
  }

  // Waits while another thread refreshes. Returns the caller's result when it need not refresh
  // itself, or nothing when it should go on to refresh. The deadline is on the injected clock;
  // the condition variable only paces the checks.
  std::optional<Result<void>> wait_for_flight(std::unique_lock<std::mutex>& lock,
                                              std::uint64_t seen, RefreshNeed need) {
    using std::chrono::milliseconds;
    const TimePoint deadline = detail::saturating_add(clock_.now(), options_.refresh.wait_timeout);
    while (refreshing_) {
      // A soft caller carries on; a replacement or a finished refresh ends the wait.
      if (need == RefreshNeed::soft || cell_.generation() != seen) return Result<void>{};
      const TimePoint now = clock_.now();
      if (now >= deadline) {
        // A hard caller whose token is still valid goes on with it.
        const bool expired =
            cell_.read([&](const detail::Snapshot& s) { return s.token->expired(now); });
        if (need == RefreshNeed::hard && !expired) return Result<void>{};
        return Result<void>{unexpected(cell_.messages().refresh_timeout())};
      }
      const milliseconds left = detail::saturating_diff(deadline, now);
      done_.wait_for(lock, std::clamp(left, milliseconds{1}, milliseconds{100}));
    }
    return std::nullopt;
  }

  // The hooks a flight redeems with, the strategy's errors scrubbed of every secret the cell
  // knows (the strategy's client secret with the tokens) before the redemption keeps any of
  // their text: a refusal it records in the store is read by every other holder.
  template <class Hooks>
  struct Scrubbed {
    Hooks& hooks;
    const Cell& cell;
    auto redeem(const Credential& credential, TimePoint now) {
      auto redeemed = hooks.redeem(credential, now);
      if (!redeemed) cell.scrub(redeemed.error());
      return redeemed;
    }
    auto problems(const Credential& credential, TimePoint now) const {
      return hooks.problems(credential, now);
    }
  };

  // Applies what the flight obtained; called with mutex_ held.
  template <class Hooks>
  Outcome apply(const TokenPtr& token, Obtained got, RefreshNeed need, TimePoint now,
                Hooks& hooks) {
    using Kind = typename Obtained::Kind;
    Outcome out{Result<void>{}, {}};
    if (got.kind == Kind::failed) return fail(*token, std::move(*got.error), need, now);
    if (got.kind == Kind::refused) {
      cell_.scrub(*got.error);
      Verdict verdict;
      verdict.kind = VerdictKind::unauthenticated;
      if (got.error->verdict) verdict = std::move(*got.error->verdict);
      const auto by = detail::RefusedBy::token_endpoint;
      refused_ = Refused{
          token->generation, std::move(verdict), token->credential.expires_at, {}, {}, by, false};
      if (got.recorded) {
        refused_->cause = cell_.messages().recorded_refusal(*got.recorded);
      } else if (got.interrupted) {
        refused_->cause = cell_.messages().interrupted_refresh(*got.interrupted);
      }
      refused_->note = cell_.messages().refresh_token_refused(
          refused_->verdict, detail::join_words(token->fingerprint, refused_->cause),
          refused_->expiry);
      return on_refused(*token, need, now);
    }
    if (auto problems = hooks.problems(got.credential, now);
        got.kind == Kind::adopted && problems) {
      return fail(*token, cell_.messages().unusable_refresh(*problems), need, now);
    }
    const bool from_refresh = got.kind == Kind::refreshed;
    TokenTraits traits = hooks.traits(got.credential);
    const TokenPtr installed = cell_.install(token->generation, std::move(got.credential),
                                             std::move(traits), now, got.refresh_in, from_refresh);
    known_ = got.stored;
    if (!installed) return out;  // replaced while refreshing: the replacement wins
    // A token already inside its refresh margin, or already expired, would be refreshed again
    // at once: back off as after a failure instead (a real refresh stampede came from exactly
    // that, and a token endpoint that answers `expires_in: 0` would be called on every request).
    // One kept while its persist failed is renewed at once: only its refresh token still serves.
    const bool spent_at_once =
        from_refresh && !got.kept && installed->soft_at && now >= *installed->soft_at;
    if (!spent_at_once) failures_ = 0;
    set_next_attempt(std::nullopt);
    last_error_.reset();
    refused_.reset();
    if (!from_refresh) {
      out.events.push_back({EventKind::credential_adopted, installed, std::nullopt, std::nullopt});
      return out;
    }
    last_refresh_ = now;
    out.events.push_back(
        {EventKind::refresh_succeeded, installed, std::nullopt, installed->credential.expires_at});
    if (got.rotated) {
      rotation_unpersisted_ = !store_.durable();
      out.events.push_back({rotation_unpersisted_ ? EventKind::rotation_not_persisted
                                                  : EventKind::rotation_persisted,
                            installed, std::nullopt, std::nullopt});
    }
    if (got.error) {
      // The access token was unusable and only the rotated refresh token was kept.
      Outcome failed_out = fail(*installed, std::move(*got.error), need, now);
      failed_out.events.insert(failed_out.events.begin(), out.events.begin(), out.events.end());
      return failed_out;
    }
    if (spent_at_once) backoff(nullptr, now);
    return out;
  }

  // A failed refresh: back off, remember the error, and tell the caller if it cannot go on.
  Outcome fail(const detail::Token& token, Error cause, RefreshNeed need, TimePoint now) {
    cell_.scrub(cause);  // a token endpoint or a persist hook may quote a secret
    const bool persist = cause.code == Errc::persist_failed;
    const TimePoint next = backoff(cause.verdict ? &*cause.verdict : nullptr, now);
    auto error = std::make_shared<const Error>(cell_.messages().refresh_failed(
        std::move(cause), token.fingerprint, next, token.credential.expires_at, now));
    last_error_ = error;
    Outcome out{Result<void>{}, {}};
    out.events.push_back(
        {EventKind::refresh_failed, cell_.snapshot()->token, error->verdict, next});
    if (persist || must_succeed(token, need, now)) out.result = unexpected(*error);
    return out;
  }

  // Counts a failure and sets the next attempt; called with mutex_ held.
  TimePoint backoff(const Verdict* verdict, TimePoint now) {
    ++failures_;
    std::chrono::milliseconds wait = detail::doubled(
        options_.refresh.failure_backoff_first, options_.refresh.failure_backoff_max, failures_);
    if (verdict != nullptr && verdict->retry_after) wait = *verdict->retry_after;
    const TimePoint next = detail::saturating_add(now, wait);
    set_next_attempt(next);
    return next;
  }

  void set_next_attempt(std::optional<TimePoint> next) noexcept {
    next_attempt_ = next;
    quiet_until_.store(
        next ? next->time_since_epoch().count() : TimePoint::min().time_since_epoch().count(),
        std::memory_order_relaxed);
  }

  // The refresh token was refused: the access token serves while it can; once it expires or is
  // rejected, the credential needs a person, with a message that names the refresh token.
  Outcome on_refused(const detail::Token& token, RefreshNeed need, TimePoint now) {
    Outcome out{Result<void>{}, {}};
    if (!must_succeed(token, need, now) && token.credential.expires_at) {
      if (!std::exchange(refused_->announced, true)) {
        out.events.push_back({EventKind::refresh_token_refused, cell_.snapshot()->token,
                              refused_->verdict, refused_->expiry});
      }
      return out;
    }
    auto [error, change] = cell_.take_out(
        token.generation, refused_->verdict, now,
        detail::join_words(token.expired(now) ? "(the access token has expired)" : "",
                           refused_->cause),
        refused_->by);
    if (change) {
      out.events.push_back({change->kind, change->token, refused_->verdict, change->until});
    }
    out.result = unexpected(std::move(error));
    return out;
  }

  template <class Hooks>
  static Result<void> finish(Outcome out, Hooks& hooks) {
    for (const Emit& e : out.events) {
      hooks.notify(e.kind, *e.token, e.verdict ? &*e.verdict : nullptr, e.until);
    }
    return std::move(out.result);
  }

  const CredentialOptions& options_;
  Cell& cell_;
  Store& store_;
  const Clock& clock_;
  mutable std::mutex mutex_;  // after any cell lock is never taken: coordinator, then cell
  std::condition_variable done_;
  bool refreshing_ = false;
  std::uint32_t failures_ = 0;
  std::optional<TimePoint> next_attempt_;
  std::atomic<TimePoint::rep> quiet_until_{TimePoint::min().time_since_epoch().count()};
  std::shared_ptr<const Error> last_error_;
  std::optional<TimePoint> last_refresh_;
  std::optional<Refused> refused_;
  bool rotation_unpersisted_ = false;
  std::uint64_t known_ = 0;               // the store generation of the installed credential
  detail::Redemption<Store> redemption_;  // touched only by the flight, never under mutex_
};

}  // namespace keyward
