// The event-stream reader the classifiers used before the one-pass scanner (event_stream.hpp),
// kept as the reference the scanner must agree with: it splits every line, copies every event's
// data and parses every event that mentions "error". The unit tests and the classifier fuzz
// target compare the two on the same streams.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/classify/error_document.hpp"
#include "keyward/detail/json.hpp"

namespace keyward::testing::sse_reference {

/// Removes and returns the first line of `stream`; lines end in CRLF, LF or CR.
constexpr std::string_view next_line(std::string_view& stream) noexcept {
  const std::size_t end = stream.find_first_of("\r\n");
  const std::string_view line = stream.substr(0, end);
  if (end == std::string_view::npos) {
    stream = {};
  } else {
    const bool crlf = stream[end] == '\r' && end + 1 < stream.size() && stream[end + 1] == '\n';
    stream.remove_prefix(end + (crlf ? 2 : 1));
  }
  return line;
}

/// The event being read: its name and its data lines joined by LF.
struct Event {
  std::string name;
  std::string data;
  bool has_data = false;

  /// Applies one "field: value" line; comments and unknown fields change nothing.
  void add(std::string_view line) {
    if (line.starts_with(':')) return;
    const std::size_t colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    if (field == "event") {
      name = value;
    } else if (field == "data") {
      if (has_data) data.push_back('\n');
      data.append(value);
      has_data = true;
    }
  }

  /// True for an error event: named `error`, or with data that is an error document.
  [[nodiscard]] bool is_error() const {
    if (!has_data) return false;  // an event without data is never dispatched
    if (name == "error") return true;
    if (data.find("error") == std::string::npos) return false;
    const auto json = detail::json::parse(data, detail::json::Strictness::lenient);
    return json && classify::error_object(*json) != nullptr;
  }
};

/// The data of the first error event of a stream, as the classifiers found it before.
[[nodiscard]] inline std::optional<std::string> sse_error_data(std::string_view stream) {
  Event event;
  while (!stream.empty()) {
    const std::string_view line = next_line(stream);
    if (!line.empty()) {
      event.add(line);
      continue;
    }
    if (event.is_error()) return std::move(event.data);  // a blank line dispatches the event
    event = {};
  }
  if (event.is_error()) return std::move(event.data);
  return std::nullopt;
}

}  // namespace keyward::testing::sse_reference
