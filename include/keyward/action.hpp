// The vocabulary between a CredentialCell and its driver: what a token needs (RefreshNeed), the
// Ticket an admitted attempt carries, the Action a verdict leads to (with the Change worth an
// event), and the CurrentCredential a read lends.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/classifier.hpp"
#include "keyward/credential_kind.hpp"
#include "keyward/detail/credential_state.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/status.hpp"

namespace keyward {

/// The credential and its state as ResilientCredential::with_current() lends them: valid during
/// the call only, so neither copyable nor movable.
struct CurrentCredential {
  const Credential& credential;    ///< The credential to attach.
  std::string_view token;          ///< Its token's bytes, as `credential.token.reveal()`; read
                                   ///< from the snapshot, without touching the credential.
  CredentialState state;           ///< Where it stands (status() also reports refreshing).
  std::uint64_t generation;        ///< Its generation.
  std::optional<TimePoint> until;  ///< When its window ends, while it is out.
  /// Lends the parts of one snapshot.
  CurrentCredential(const Credential& c, CredentialState s, std::uint64_t g,
                    std::optional<TimePoint> u)
      : credential(c), token(c.token.reveal()), state(s), generation(g), until(u) {}
  /// Lends what a snapshot holds.
  explicit CurrentCredential(const detail::Snapshot& s) noexcept
      : credential(s.token->credential),
        token(s.access_data, s.access_size),
        state(s.state),
        generation(s.generation),
        until(s.until) {}
  CurrentCredential(const CurrentCredential&) = delete;
  CurrentCredential& operator=(const CurrentCredential&) = delete;
  CurrentCredential(CurrentCredential&&) = delete;
  CurrentCredential& operator=(CurrentCredential&&) = delete;
  ~CurrentCredential() = default;
};

/// How urgently a token needs a refresh: soft (one caller refreshes, the others carry on), hard
/// (callers wait for it), or rejected (a response rejected it).
enum class RefreshNeed : std::uint8_t { soft, hard, rejected };

/// A change worth an event.
struct Change {
  EventKind kind = EventKind::cooldown_entered;  ///< What happened.
  std::shared_ptr<const detail::Token> token;    ///< To which generation.
  std::optional<TimePoint> until;                ///< Until when, for windows.
};

/// What the driver does after a verdict.
enum class ActionKind : std::uint8_t {
  deliver,              ///< Return the response.
  retry,                ///< A provider-scoped failure: retry after a backoff, state unchanged.
  replay,               ///< A newer credential is in place: send again with it.
  refresh_then_replay,  ///< Refresh (single flight), then send again.
  fail,                 ///< Return the error.
};

/// The cell's answer to a verdict.
struct Action {
  // Constructors of its own: g++ 12 zero-fills an aggregate holding an optional Error (300 bytes)
  // on every construction, and a success constructs one per send().
  /// What to do, with no error and no change.
  explicit Action(ActionKind what = ActionKind::deliver) noexcept : kind(what) {}
  /// Fails with `error`, and the change worth an event if any.
  Action(Error failure, std::optional<Change> changed)
      : kind(ActionKind::fail), error(std::move(failure)), change(std::move(changed)) {}

  ActionKind kind;               ///< What to do.
  std::optional<Error> error;    ///< The caller's error, for fail.
  std::optional<Change> change;  ///< An event to emit.
};

/// Who claimed what for one attempt; hands a claimed probe back when destroyed undecided.
template <class Cell>
class Ticket {
 public:
  Ticket() = default;
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;
  /// Takes over `other`'s claim.
  Ticket(Ticket&& other) noexcept
      : cell(std::exchange(other.cell, nullptr)),
        generation(other.generation),
        probe(std::exchange(other.probe, 0)),
        probed_reason(other.probed_reason),
        unverified(other.unverified),
        settled(other.settled),
        kind(other.kind),
        token(std::move(other.token)) {}
  /// Hands back this ticket's claim and takes over `other`'s.
  Ticket& operator=(Ticket&& other) noexcept {
    if (this != &other) {
      hand_back();
      cell = std::exchange(other.cell, nullptr);
      generation = other.generation;
      probe = std::exchange(other.probe, 0);
      probed_reason = other.probed_reason;
      unverified = other.unverified;
      settled = other.settled;
      kind = other.kind;
      token = std::move(other.token);
    }
    return *this;
  }
  ~Ticket() { hand_back(); }

  /// Hands a claimed probe back to the cell, so that the next request can probe.
  void hand_back() noexcept {
    if (cell != nullptr && probe != 0) cell->release_probe(probe);
    probe = 0;
  }

  Cell* cell = nullptr;                      ///< The cell that admitted it.
  std::uint64_t generation = 0;              ///< The generation it was sent with.
  std::uint64_t probe = 0;                   ///< The probe it owns, 0 when none.
  std::optional<VerdictKind> probed_reason;  ///< What took the credential out, when probing.
  bool unverified = false;                   ///< A refreshed token no response accepted yet.
  bool settled = false;  ///< Verified with no failures counted: a success changes nothing.
  CredentialKind kind = CredentialKind::api_key;  ///< The credential's kind.
  std::shared_ptr<const detail::Token> token;     ///< Kept only when the driver asked.
};

}  // namespace keyward
