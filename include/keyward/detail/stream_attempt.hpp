// One streamed attempt, as a driver sends it through a StreamingTransport (streaming.hpp).
//
// The head decides: a 2xx streams its body to the caller's sink as it arrives; anything else is
// collected, so that the driver classifies it whole and refreshes, replays, fails over or retries
// before the caller has seen a byte. While the body streams, its events are watched for an
// `event: error` (a rate limit or an overload reported after the 200); the first one is kept as a
// response the classifier reads like any error stream, so the driver can record it against the
// credential or the provider. Once a byte reached the caller nothing is replayed: delivered()
// tells the driver so.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"

namespace keyward::detail {

/// Streams a 2xx body to a sink, watching it for an error event.
class StreamAttempt final : public StreamHandler {
 public:
  /// The longest event kept while it arrives; a longer one is not looked at (an error event is
  /// short).
  static constexpr std::size_t kMaxEvent = std::size_t{64} << 10U;

  /// Streams to `sink`, a callable taking std::string_view and returning false to stop; it must
  /// outlive this attempt.
  template <class Sink>
  explicit StreamAttempt(Sink& sink) noexcept
      // Sink may be const (a const lambda): deliver_ casts back to exactly Sink*, const kept.
      : sink_(const_cast<void*>(static_cast<const void*>(&sink))),
        deliver_([](void* s, std::string_view bytes) {
          return static_cast<bool>((*static_cast<Sink*>(s))(bytes));
        }) {}

  /// Streams a 2xx; collects anything else for the driver to classify.
  bool on_head(const Response& head) override {
    if (head.status < 200 || head.status >= 300) return false;
    headers_ = head.headers;
    return true;
  }

  /// Hands `bytes` to the sink, watching for an error event.
  bool on_body(std::string_view bytes) override {
    if (bytes.empty()) return true;
    delivered_ = true;
    if (!error_) watch(bytes);
    return deliver_(sink_, bytes);
  }

  /// True once a byte of the body reached the caller: the attempt must not be replayed.
  [[nodiscard]] bool delivered() const noexcept { return delivered_; }

  /// The first error event of the stream, as a 200 event-stream response holding only that
  /// event, for the classifier; nothing when the stream carried none.
  [[nodiscard]] const std::optional<Response>& error_event() const noexcept { return error_; }

 private:
  // Appends to the event being received and looks at every event that completes.
  KEYWARD_DECL void watch(std::string_view bytes);

  // Where the event starting at `from` ends (after its blank line), or npos.
  KEYWARD_DECL static std::size_t event_end(std::string_view text, std::size_t from);

  // An event named "error" (WHATWG HTML 9.2.6: `event:` then an optional space).
  KEYWARD_DECL static bool is_error_event(std::string_view event);

  void* sink_;
  bool (*deliver_)(void*, std::string_view);
  Headers headers_{};
  std::string pending_{};
  std::optional<Response> error_{};
  bool delivered_ = false;
};

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/stream_attempt.ipp"
#endif
