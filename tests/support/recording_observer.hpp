// An Observer that keeps every event's kind and fingerprint, for tests that check what keyward
// reported (and that it never reported a secret).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keyward/observer.hpp"

namespace keyward::testing {

/// One recorded event, with owned copies of its text.
struct RecordedEvent {
  EventKind kind;
  std::string fingerprint;
  std::uint64_t generation;
  std::string verdict_message;
};

/// Records events; copies share the record.
class RecordingObserver {
 public:
  /// Records the event.
  void on_event(const Event& event) {
    const std::scoped_lock lock(state_->mutex);
    state_->events.push_back({event.kind, std::string{event.fingerprint}, event.generation,
                              event.verdict ? event.verdict->message : std::string{}});
  }
  /// Every event so far.
  [[nodiscard]] std::vector<RecordedEvent> events() const {
    const std::scoped_lock lock(state_->mutex);
    return state_->events;
  }
  /// How many events of `kind`.
  [[nodiscard]] std::size_t count(EventKind kind) const {
    const std::scoped_lock lock(state_->mutex);
    std::size_t n = 0;
    for (const auto& e : state_->events) n += e.kind == kind ? 1U : 0U;
    return n;
  }

 private:
  struct State {
    std::mutex mutex;
    std::vector<RecordedEvent> events;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

static_assert(Observer<RecordingObserver>);

}  // namespace keyward::testing
