// Definitions for keyward/classify/error_document.hpp: included by it when header-only, compiled
// once by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/classify/error_document.hpp"
#include "keyward/classify/event_stream.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

KEYWARD_DECL const detail::json::Value* error_object(const detail::json::Value& document) noexcept {
  if (!document.is_object()) return nullptr;
  if (const auto* error = document.find("error"); error != nullptr && error->is_object()) {
    return error;
  }
  if (const auto* response = document.find("response");
      response != nullptr && response->is_object()) {
    if (const auto* error = response->find("error"); error != nullptr && error->is_object()) {
      return error;
    }
  }
  if (document.string_or("type") == "error" && document.find("error") == nullptr) return &document;
  return nullptr;
}

KEYWARD_DECL bool is_event_stream(const Response& response) noexcept {
  constexpr std::string_view kType = "text/event-stream";
  auto type = response.headers.get("content-type").value_or("");
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  if (type.size() < kType.size() || !detail::iequals(type.substr(0, kType.size()), kType)) {
    return false;
  }
  type.remove_prefix(kType.size());
  return type.empty() || type.front() == ';' || type.front() == ' ' || type.front() == '\t';
}

namespace sse_internal {

/// An error event: its data lines joined by LF, and that data read leniently as JSON, if it is.
struct ErrorEvent {
  std::string data;                         ///< The data, as the stream sent it.
  std::optional<detail::json::Value> json;  ///< The data as a JSON document.
};

/// Finds the first error event of a stream (WHATWG HTML section 9.2.6): an event named `error`,
/// or one whose data is a JSON document with an error object. It goes from one telling "error"
/// (event_stream.hpp) to the next, back to the start of the event that holds it, and reads that
/// event's lines; the events in between are never split into lines.
class Scanner {
 public:
  /// Reads `stream`.
  explicit Scanner(std::string_view stream) noexcept : stream_(stream), lines_(stream) {}

  /// The first error event, if any.
  std::optional<ErrorEvent> first_error() {
    std::optional<bool> letter_escapes;  // whether the stream spells letters with \u escapes
    std::size_t mention = find_error(stream_, 0);
    while (mention != std::string_view::npos) {
      // Every event before lines_.position() has been read and was not an error.
      if (mention < lines_.position()) {
        mention = find_error(stream_, lines_.position());
        continue;
      }
      if (!telling_mention(stream_, mention)) {
        // An escape could spell "error" where it cannot be seen; only then must this one count.
        if (!letter_escapes) letter_escapes = has_letter_escape(stream_);
        if (!*letter_escapes) {
          mention = find_error(stream_, mention + 1);
          continue;
        }
      }
      lines_.skip_to(event_start(stream_, lines_.position(), mention));
      if (auto error = read_event()) return error;
    }
    return std::nullopt;
  }

 private:
  // What one pass learns of an event; its data stays in the stream until it may be an error.
  struct Event {
    std::size_t start = 0;        // where its first line starts
    bool named_error = false;     // its last `event` line says "error"
    std::size_t data_lines = 0;   // how many `data` lines it has
    std::string_view first_data;  // the value of the first
    bool mentions_error = false;  // some data value holds "error"
    bool tells_error = false;     // in a way that may make an error document
  };

  // Reads one event from the read position, up to the blank line that dispatches it or the end
  // of the stream (a stream cut after its last event, before the blank line: what arrived still
  // counts); returns it if it is an error.
  std::optional<ErrorEvent> read_event() {
    event_ = Event{};
    event_.start = lines_.position();
    while (!lines_.empty()) {
      const std::size_t end = lines_.position();
      const std::string_view line = lines_.next();
      if (line.empty()) return may_be_error() ? dispatch(end) : std::nullopt;
      add(line);
    }
    return may_be_error() ? dispatch(stream_.size()) : std::nullopt;
  }

  // Comments (":...") and fields other than `event` and `data` change nothing.
  void add(std::string_view line) {
    if (const auto name = field_value(line, "event")) {
      event_.named_error = *name == "error";
    } else if (const auto data = field_value(line, "data")) {
      if (event_.data_lines++ == 0) event_.first_data = *data;
      if (!event_.tells_error) note_mentions(*data);
    }
  }

  // Notes whether "error" occurs in `value`, a view into the stream, and whether tellingly.
  void note_mentions(std::string_view value) noexcept {
    const auto offset = static_cast<std::size_t>(value.data() - stream_.data());
    for (auto at = find_error(value, 0); at != std::string_view::npos;
         at = find_error(value, at + 1)) {
      event_.mentions_error = true;
      if (telling_mention(stream_, offset + at)) {
        event_.tells_error = true;
        return;
      }
    }
  }

  // Whether the event read so far may be an error: events without data are not dispatched, and
  // one that neither is named `error` nor mentions it in its data is not one.
  [[nodiscard]] bool may_be_error() const noexcept {
    return event_.data_lines != 0 && (event_.named_error || event_.mentions_error);
  }

  // The event that ends at `end`, if it is an error. Its data is parsed only if it may hold an
  // error document: if it tells "error", or may spell it with escapes.
  std::optional<ErrorEvent> dispatch(std::size_t end) const {
    std::string joined;
    std::string_view data = event_.first_data;
    if (event_.data_lines > 1) {
      joined = join_data(stream_.substr(event_.start, end - event_.start));
      data = joined;
    }
    std::optional<detail::json::Value> json;
    if (event_.named_error || event_.tells_error || has_letter_escape(data)) {
      json = detail::json::parse(data, detail::json::Strictness::lenient);
    }
    if (!event_.named_error && !(json && error_object(*json) != nullptr)) return std::nullopt;
    if (event_.data_lines == 1) joined = data;
    return ErrorEvent{std::move(joined), std::move(json)};
  }

  // The data lines of one event, joined by LF.
  static std::string join_data(std::string_view event) {
    std::string out;
    bool first = true;
    for (Lines lines{event}; !lines.empty();) {
      if (const auto data = field_value(lines.next(), "data")) {
        if (!first) out.push_back('\n');
        out.append(*data);
        first = false;
      }
    }
    return out;
  }

  std::string_view stream_;
  Lines lines_;
  Event event_;
};

}  // namespace sse_internal

KEYWARD_DECL std::optional<std::string> sse_error_data(std::string_view stream) {
  auto event = sse_internal::Scanner{stream}.first_error();
  if (!event) return std::nullopt;
  return std::move(event->data);
}

KEYWARD_DECL ErrorDocument error_document(const Response& response) {
  ErrorDocument out;
  if (response.status >= 200 && response.status < 300) {
    if (!is_event_stream(response)) return out;
    auto event = sse_internal::Scanner{response.body}.first_error();
    if (!event) return out;
    out.streamed = true;
    out.json = std::move(event->json);
    return out;
  }
  // Lenient: a lone "\ud83d" in a message must not turn a known error into an unknown one.
  out.json = detail::json::parse(response.body, detail::json::Strictness::lenient);
  if (out.json && out.json->is_array() && !out.json->as_array()->empty()) {
    detail::json::Value first = out.json->as_array()->front();
    out.json = std::move(first);
  }
  return out;
}

}  // namespace keyward::classify
