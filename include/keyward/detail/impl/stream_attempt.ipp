// Definitions for keyward/detail/stream_attempt.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/detail/stream_attempt.hpp"
#include "keyward/transport.hpp"

namespace keyward::detail {

// Appends to the event being received and looks at every event that completes.
KEYWARD_DECL void StreamAttempt::watch(std::string_view bytes) {
  pending_.append(bytes);
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = event_end(pending_, start);
    if (end == std::string::npos) break;
    const std::string_view event{pending_.data() + start, end - start};
    if (is_error_event(event)) {
      Response response{.status = 200, .headers = headers_, .body = std::string{event}};
      response.headers.set("content-type", "text/event-stream");
      error_ = std::move(response);
      pending_.clear();
      return;
    }
    start = end;
  }
  pending_.erase(0, start);
  if (pending_.size() > kMaxEvent) pending_.clear();
}

// Where the event starting at `from` ends (after its blank line), or npos.
KEYWARD_DECL std::size_t StreamAttempt::event_end(std::string_view text, std::size_t from) {
  for (std::size_t i = text.find('\n', from); i != std::string_view::npos;
       i = text.find('\n', i + 1)) {
    if (i + 1 < text.size() && text[i + 1] == '\n') return i + 2;
    if (i + 2 < text.size() && text[i + 1] == '\r' && text[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

// An event named "error" (WHATWG HTML 9.2.6: `event:` then an optional space).
KEYWARD_DECL bool StreamAttempt::is_error_event(std::string_view event) {
  while (!event.empty()) {
    const std::size_t eol = std::min(event.find('\n'), event.size());
    std::string_view line = event.substr(0, eol);
    event.remove_prefix(std::min(eol + 1, event.size()));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.starts_with("event:")) continue;
    line.remove_prefix(6);
    if (line.starts_with(' ')) line.remove_prefix(1);
    if (line == "error") return true;
  }
  return false;
}

}  // namespace keyward::detail
