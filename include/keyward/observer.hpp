// The Observer role: every decision keyward takes, as an event, for logs and metrics.
//
// The default, NoObserver, compiles to nothing. An observer is called from the thread that made
// the decision, possibly from several threads at once, and must not block for long. Events name
// credentials by fingerprint only; no event ever carries a secret.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string_view>

#include "keyward/classifier.hpp"

namespace keyward {

/// What happened.
enum class EventKind : std::uint8_t {
  attempt,                 ///< A request is about to be sent.
  verdict,                 ///< A response or failure was classified.
  retry,                   ///< A provider-scoped failure will be retried after a backoff.
  refresh_started,         ///< This holder made a token call to refresh the credential (told
                           ///< with its outcome, just before refresh_succeeded or _failed).
  refresh_succeeded,       ///< The refresh produced a new credential.
  refresh_failed,          ///< The refresh failed.
  rotation_persisted,      ///< A rotated refresh token was persisted.
  cooldown_entered,        ///< The credential was taken out until `until`.
  cooldown_left,           ///< A probe succeeded and the credential is ready again.
  needs_reauth,            ///< The credential waits for a person.
  credential_replaced,     ///< set_credential() installed a new credential.
  probe,                   ///< One request was let through to probe a credential that was out.
  rotation_not_persisted,  ///< A rotated refresh token went to a store that is not durable.
  refresh_token_refused,   ///< The token endpoint refused the refresh token; `until` is the
                           ///< access token's expiry, by when a person must log in again.
  breaker_opened,          ///< The provider kept failing: requests are refused until `until`.
  breaker_half_open,       ///< The cool-off ended: one request probes the provider.
  breaker_closed,          ///< The probe succeeded: requests to the provider flow again.
  retry_budget_exhausted,  ///< A failure was not retried: the provider's retry budget is spent.
  failover,                ///< A pool moved a request from this profile to another (`detail`).
  panic,                   ///< Every profile was out for a rate limit or quota: this one, whose
                           ///< window ends first, is probed rather than refusing.
  all_out,                 ///< No profile of a pool could serve; `until` is the soonest any can.
  credential_adopted,      ///< Another holder of the login stored a newer credential, which
                           ///< this one now uses without a token call of its own.
};

/// The name of an event kind.
[[nodiscard]] constexpr std::string_view to_string(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::attempt:
      return "attempt";
    case EventKind::verdict:
      return "verdict";
    case EventKind::retry:
      return "retry";
    case EventKind::refresh_started:
      return "refresh_started";
    case EventKind::refresh_succeeded:
      return "refresh_succeeded";
    case EventKind::refresh_failed:
      return "refresh_failed";
    case EventKind::rotation_persisted:
      return "rotation_persisted";
    case EventKind::cooldown_entered:
      return "cooldown_entered";
    case EventKind::cooldown_left:
      return "cooldown_left";
    case EventKind::needs_reauth:
      return "needs_reauth";
    case EventKind::credential_replaced:
      return "credential_replaced";
    case EventKind::probe:
      return "probe";
    case EventKind::rotation_not_persisted:
      return "rotation_not_persisted";
    case EventKind::refresh_token_refused:
      return "refresh_token_refused";
    case EventKind::breaker_opened:
      return "breaker_opened";
    case EventKind::breaker_half_open:
      return "breaker_half_open";
    case EventKind::breaker_closed:
      return "breaker_closed";
    case EventKind::retry_budget_exhausted:
      return "retry_budget_exhausted";
    case EventKind::failover:
      return "failover";
    case EventKind::panic:
      return "panic";
    case EventKind::all_out:
      return "all_out";
    case EventKind::credential_adopted:
      return "credential_adopted";
  }
  return "unknown";
}

/// One decision, described without secrets; the views are valid during on_event() only.
struct Event {
  EventKind kind = EventKind::attempt;  ///< What happened.
  std::string_view profile{};           ///< The profile's name.
  std::string_view fingerprint{};       ///< The credential's redacted fingerprint.
  std::uint64_t generation = 0;         ///< The credential's generation.
  const Verdict* verdict = nullptr;     ///< The verdict involved, if any.
  std::optional<TimePoint> until{};     ///< Until when, for cooldowns, retries and probes.
  std::string_view detail{};            ///< A short human-readable note, possibly empty.
};

/// Receives events.
template <class O>
concept Observer = requires(O& observer, const Event& event) {
  observer.on_event(event);
};

/// Ignores every event, at no cost.
struct NoObserver {
  /// Does nothing.
  void on_event(const Event& /*event*/) const noexcept {}
};

static_assert(Observer<NoObserver>);

}  // namespace keyward
