// observe::JsonLines: an Observer that writes one JSON object per event, one per line, to a
// std::ostream, for logs and for `jq`. Events carry no secret (fingerprints only, outside text
// scrubbed by the cell that recorded it), and this observer adds none. Copies share the stream
// and the lock, so Components may copy it; lines from several threads never interleave.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>

#include "keyward/classifier.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/observer.hpp"

namespace keyward::observe {

/// Renders one event as one JSON object (no newline); `at` is the time to stamp it with, if any.
[[nodiscard]] inline std::string to_json(const Event& event, std::optional<TimePoint> at = {}) {
  std::string out = "{";
  if (at) {
    out += "\"at\":";
    detail::append_json_string(out, detail::format_rfc3339(*at));
    out += ',';
  }
  out += "\"event\":";
  detail::append_json_string(out, to_string(event.kind));
  out += ",\"profile\":";
  detail::append_json_string(out, event.profile);
  out += ",\"fingerprint\":";
  detail::append_json_string(out, event.fingerprint);
  out += ",\"generation\":" + std::to_string(event.generation);
  out += ",\"until\":";
  if (event.until) {
    detail::append_json_string(out, detail::format_deadline(*event.until));
  } else {
    out += "null";
  }
  if (const Verdict* v = event.verdict) {
    out += R"(,"verdict":{"kind":)";
    detail::append_json_string(out, to_string(v->kind));
    out += ",\"scope\":";
    detail::append_json_string(out, to_string(v->scope));
    out += ",\"status\":" + std::to_string(v->status);
    out += ",\"retryable\":";
    out += v->retryable ? "true" : "false";
    out += ",\"retry_after_ms\":";
    out += v->retry_after ? std::to_string(v->retry_after->count()) : "null";
    out += ",\"provider_code\":";
    detail::append_json_string(out, v->provider_code);
    out += ",\"message\":";
    detail::append_json_string(out, v->message);
    out += ",\"request_id\":";
    detail::append_json_string(out, v->request_id);
    out += '}';
  }
  if (!event.detail.empty()) {
    out += ",\"detail\":";
    detail::append_json_string(out, event.detail);
  }
  out += '}';
  return out;
}

/// Writes one JSON line per event to a stream.
class JsonLines {
 public:
  /// Writes to `out`, which must outlive every copy; `clock`, when given, stamps each line.
  explicit JsonLines(std::ostream& out, std::function<TimePoint()> clock = {})
      : shared_(std::make_shared<Shared>(out, std::move(clock))) {}

  /// Writes `event` as one line.
  void on_event(const Event& event) const {
    const std::optional<TimePoint> at =
        shared_->clock ? std::optional<TimePoint>{shared_->clock()} : std::nullopt;
    const std::string line = to_json(event, at) + '\n';
    const std::scoped_lock lock(shared_->mutex);
    shared_->out.write(line.data(), static_cast<std::streamsize>(line.size()));
    shared_->out.flush();
  }

 private:
  struct Shared {
    Shared(std::ostream& o, std::function<TimePoint()> c) : out(o), clock(std::move(c)) {}
    std::ostream& out;
    std::function<TimePoint()> clock;
    std::mutex mutex;
  };
  std::shared_ptr<Shared> shared_;
};

static_assert(Observer<JsonLines>);

}  // namespace keyward::observe
