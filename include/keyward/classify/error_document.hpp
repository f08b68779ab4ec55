// The error document of a response, as the provider classifiers read it: the JSON body of an
// error status, or the error event of a server-sent event stream that failed after a 2xx.
//
// A 2xx is the common case and must cost next to nothing: its body is not read at all unless it
// is an event stream, and a stream is read in one pass that parses nothing but the event that
// may be an error. Three searches move forward through the stream, each over every byte at most
// once: the next LF and the next CR (memchr), and the next "error" (Horspool's search, which
// reads about one byte in four). A healthy stream of any size builds no string and parses no
// JSON.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

/// True when `needle` occurs in `text`, ignoring ASCII case.
[[nodiscard]] constexpr bool icontains(std::string_view text, std::string_view needle) noexcept {
  if (needle.size() > text.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
    if (detail::iequals(text.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

/// The error object inside a provider's error document: `error`, OpenAI's `response.error`, or
/// the document itself when its `type` is "error" and it has no `error` member; else nullptr.
[[nodiscard]] inline const detail::json::Value* error_object(
    const detail::json::Value& document) noexcept {
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

/// True when the response says it is a server-sent event stream (`text/event-stream`).
[[nodiscard]] inline bool is_event_stream(const Response& response) noexcept {
  const auto type = response.headers.get("content-type");
  return type && icontains(*type, "text/event-stream");
}

namespace sse_internal {

/// Splits a stream into lines ending in CRLF, LF or CR (WHATWG HTML 9.2.5). The next LF and the
/// next CR are each searched for once and kept until passed, so an LF-only stream costs one
/// memchr per line and a stream without LF one memchr in all.
class Lines {
 public:
  /// Reads `stream` from its start.
  constexpr explicit Lines(std::string_view stream) noexcept
      : stream_(stream), lf_(stream.find('\n')), cr_(stream.find('\r')) {}

  /// True when every line has been read.
  [[nodiscard]] constexpr bool empty() const noexcept { return at_ == stream_.size(); }
  /// Where the next line starts.
  [[nodiscard]] constexpr std::size_t position() const noexcept { return at_; }

  /// Removes and returns the next line, without its end.
  constexpr std::string_view next() noexcept {
    if (lf_ < at_) lf_ = stream_.find('\n', at_);  // npos is never below at_: no search
    if (cr_ < at_) cr_ = stream_.find('\r', at_);
    const std::size_t end = std::min({lf_, cr_, stream_.size()});
    const std::string_view line = stream_.substr(at_, end - at_);
    const bool crlf = end + 1 < stream_.size() && stream_[end] == '\r' && stream_[end + 1] == '\n';
    at_ = end == stream_.size() ? end : end + (crlf ? 2 : 1);
    return line;
  }

 private:
  std::string_view stream_;
  std::size_t at_ = 0;
  std::size_t lf_;
  std::size_t cr_;
};

/// The value of a line whose field is `name` ("name: value" or a bare "name"), else nullopt.
[[nodiscard]] constexpr std::optional<std::string_view> field_value(
    std::string_view line, std::string_view name) noexcept {
  if (!line.starts_with(name)) return std::nullopt;
  line.remove_prefix(name.size());
  if (line.empty()) return line;
  if (line.front() != ':') return std::nullopt;
  line.remove_prefix(1);
  if (line.starts_with(' ')) line.remove_prefix(1);
  return line;
}

// How far Horspool's search for "error" may move its window, by the window's last byte.
inline constexpr auto kErrorSkip = [] {
  std::array<std::uint8_t, 256> skip{};
  skip.fill(5);
  skip[static_cast<unsigned char>('e')] = 4;
  skip[static_cast<unsigned char>('r')] = 2;
  skip[static_cast<unsigned char>('o')] = 1;
  return skip;
}();

/// The first "error" in `text` at or after `from`, else npos.
[[nodiscard]] constexpr std::size_t find_error(std::string_view text, std::size_t from) noexcept {
  constexpr std::string_view kWord = "error";
  if (from >= text.size() || text.size() - from < kWord.size()) return std::string_view::npos;
  for (std::size_t last = from + kWord.size() - 1; last < text.size();) {
    const char c = text[last];
    const std::size_t first = last + 1 - kWord.size();
    if (c == 'r' && text.substr(first, kWord.size()) == kWord) return first;
    last += kErrorSkip[static_cast<unsigned char>(c)];
  }
  return std::string_view::npos;
}

/// An error event: its data lines joined by LF, and that data read leniently as JSON, if it is.
struct ErrorEvent {
  std::string data;                         ///< The data, as the stream sent it.
  std::optional<detail::json::Value> json;  ///< The data as a JSON document.
};

/// Finds the first error event of a stream (WHATWG HTML section 9.2.6): an event named `error`,
/// or one whose data is a JSON document with an error object.
class Scanner {
 public:
  /// Reads `stream`.
  explicit Scanner(std::string_view stream) noexcept
      : stream_(stream), lines_(stream), error_(find_error(stream, 0)) {}

  /// The first error event, if any.
  std::optional<ErrorEvent> first_error() {
    while (!lines_.empty()) {
      const std::size_t start = lines_.position();
      const std::string_view line = lines_.next();
      if (!line.empty()) {
        add(line);
        continue;
      }
      if (auto error = dispatch(start)) return error;  // a blank line dispatches the event
      event_ = Event{};
      event_.start = lines_.position();
    }
    // The stream was cut after its last event, before the blank line: what arrived still counts.
    return dispatch(stream_.size());
  }

 private:
  // What one pass learns of an event; its data stays in the stream until it may be an error.
  struct Event {
    std::size_t start = 0;        // where its first line starts
    bool named_error = false;     // its last `event` line says "error"
    std::size_t data_lines = 0;   // how many `data` lines it has
    std::string_view first_data;  // the value of the first
    bool mentions_error = false;  // some data value holds "error"
    bool quotes_error = false;    // some data value holds "\"error\""
  };

  // Comments (":...") and fields other than `event` and `data` change nothing.
  void add(std::string_view line) {
    if (const auto name = field_value(line, "event")) {
      event_.named_error = *name == "error";
    } else if (const auto data = field_value(line, "data")) {
      if (event_.data_lines++ == 0) event_.first_data = *data;
      note_mentions(*data);
    }
  }

  // Moves the search for "error" past `value`, noting whether it occurs there and in quotes.
  void note_mentions(std::string_view value) {
    const auto begin = static_cast<std::size_t>(value.data() - stream_.data());
    const std::size_t end = begin + value.size();
    for (; error_ < end; error_ = find_error(stream_, error_ + 1)) {
      if (error_ < begin) continue;  // in a line that is not data
      event_.mentions_error = true;
      if (error_ > begin && error_ + 5 < end && stream_[error_ - 1] == '"' &&
          stream_[error_ + 5] == '"') {
        event_.quotes_error = true;
      }
    }
  }

  // The event that ends at `end`, if it is an error. Its data could be a JSON error document
  // only if it holds "error": as a quoted key or value, or spelt with a \u escape (as in
  // "\u0065rror"); only then is it parsed.
  std::optional<ErrorEvent> dispatch(std::size_t end) const {
    if (event_.data_lines == 0) return std::nullopt;  // an event without data is not dispatched
    if (!event_.named_error && !event_.mentions_error) return std::nullopt;
    std::string joined;
    std::string_view data = event_.first_data;
    if (event_.data_lines > 1) {
      joined = join_data(stream_.substr(event_.start, end - event_.start));
      data = joined;
    }
    std::optional<detail::json::Value> json;
    if (event_.named_error || event_.quotes_error || data.find("\\u") != std::string_view::npos) {
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
  std::size_t error_;  // the next "error" not yet passed, or npos
  Event event_;
};

}  // namespace sse_internal

/// The data of the first error event of a server-sent event stream (WHATWG HTML section
/// 9.2.6): an event named `error`, or one whose data is a JSON document with an error object.
[[nodiscard]] inline std::optional<std::string> sse_error_data(std::string_view stream) {
  auto event = sse_internal::Scanner{stream}.first_error();
  if (!event) return std::nullopt;
  return std::move(event->data);
}

/// A response's error document and where it came from.
struct ErrorDocument {
  std::optional<detail::json::Value> json;  ///< The parsed document, when there is one.
  bool streamed = false;  ///< True when it is the error event of a stream that began with a 2xx.
};

/// The error document of an API response, read leniently: the JSON body of an error status (the
/// first element when the body is an array, as Google's streaming endpoints send it), or the
/// error event of a 2xx event stream. The body of any other 2xx is not read.
[[nodiscard]] inline ErrorDocument error_document(const Response& response) {
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
