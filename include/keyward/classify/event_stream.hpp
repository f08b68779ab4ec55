// Reading server-sent event streams (WHATWG HTML section 9.2) fast, for the classifiers that look
// for the error event of a stream that failed after a 2xx (error_document.hpp).
//
// A healthy stream of any size must cost little more than one look at its bytes. An error event
// always says "error", in its name or in its data, so the stream is searched for that word (by
// its "rr", many bytes at a time) and only where it says it in a way that can make an error
// event is the event around it split into lines (memchr for LF and CR).
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string_view>

namespace keyward::classify::sse_internal {

/// True for the bytes that end lines in an event stream.
[[nodiscard]] constexpr bool is_line_end(char c) noexcept { return c == '\n' || c == '\r'; }

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
  /// Skips ahead to `line`, the start of a line at or after position().
  constexpr void skip_to(std::size_t line) noexcept { at_ = line; }

  /// Removes and returns the next line, without its end.
  constexpr std::string_view next() noexcept {
    if (lf_ < at_) lf_ = stream_.find('\n', at_);  // npos is never below at_: no search
    if (cr_ < at_) cr_ = stream_.find('\r', at_);
    const std::size_t end = std::min(std::min(lf_, cr_), stream_.size());
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
  // Byte by byte: a call to memcmp costs more than these few comparisons, on every line.
  if (line.size() < name.size()) return std::nullopt;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (line[i] != name[i]) return std::nullopt;
  }
  line.remove_prefix(name.size());
  if (line.empty()) return line;
  if (line.front() != ':') return std::nullopt;
  line.remove_prefix(1);
  if (line.starts_with(' ')) line.remove_prefix(1);
  return line;
}

/// The first "error" in `text` at or after `from`, else npos.
[[nodiscard]] constexpr std::size_t find_error(std::string_view text, std::size_t from) noexcept {
  const std::size_t n = text.size();
  if (from >= n || n - from < 5) return std::string_view::npos;
  const char* const bytes = text.data();
  // "error" at s has an "rr" at s + 1, and "rr" is rare in text and JSON; so the search looks
  // for "rr" 64 pairs at a time, without a branch per byte (compilers turn this loop into vector
  // compares), and checks "error" only around the pairs it finds.
  const auto error_around = [bytes](std::size_t pair) {
    return bytes[pair] == 'r' && bytes[pair + 1] == 'r' && bytes[pair - 1] == 'e' &&
           bytes[pair + 2] == 'o' && bytes[pair + 3] == 'r';
  };
  constexpr std::size_t kBlock = 64;
  const std::size_t last = n - 4;  // the last pair that leaves room for "or"
  std::size_t pair = from + 1;
  for (; pair + kBlock <= last + 1; pair += kBlock) {
    unsigned char found = 0;  // bytes, not ints, so that a vector holds as many pairs as it can
    for (std::size_t i = 0; i < kBlock; ++i) {
      found |= static_cast<unsigned char>(static_cast<unsigned char>(bytes[pair + i] == 'r') &
                                          static_cast<unsigned char>(bytes[pair + i + 1] == 'r'));
    }
    if (found == 0) continue;
    for (std::size_t i = 0; i < kBlock; ++i) {
      if (error_around(pair + i)) return pair + i - 1;
    }
  }
  for (; pair <= last; ++pair) {
    if (error_around(pair)) return pair - 1;
  }
  return std::string_view::npos;
}

/// True when `text` holds a JSON escape that spells one of the letters of "error" (\u0065,
/// \u0072, \u006f): then "error" may be written without being spelt out.
[[nodiscard]] constexpr bool has_letter_escape(std::string_view text) noexcept {
  for (std::size_t at = text.find("\\u00"); at != std::string_view::npos;
       at = text.find("\\u00", at + 1)) {
    if (at + 4 < text.size() && (text[at + 4] == '6' || text[at + 4] == '7')) return true;
  }
  return false;
}

/// True when the "error" at `at` in `stream` may make its event an error event: it is the whole
/// value of an `event` line; or it is quoted, as a JSON key whose value may be an object (as in
/// "error":{...}) or as a value after a ':' (as in "type":"error"). Where its line ends before
/// that is decided, it may. "error" in text, or in "error":null, may not.
[[nodiscard]] constexpr bool telling_mention(std::string_view stream, std::size_t at) noexcept {
  constexpr std::string_view kEvent = "event:";
  const auto line_ends_at = [stream](std::size_t i) {
    return i == stream.size() || is_line_end(stream[i]);
  };
  const auto skip_blanks = [stream](std::size_t i) {
    while (i < stream.size() && (stream[i] == ' ' || stream[i] == '\t')) ++i;
    return i;
  };
  const std::size_t after = at + 5;
  if (line_ends_at(after)) {
    const std::size_t value = at > 0 && stream[at - 1] == ' ' ? at - 1 : at;
    if (value >= kEvent.size() && stream.substr(value - kEvent.size(), kEvent.size()) == kEvent &&
        (value == kEvent.size() || is_line_end(stream[value - kEvent.size() - 1]))) {
      return true;
    }
  }
  if (at == 0 || stream[at - 1] != '"' || after >= stream.size() || stream[after] != '"') {
    return false;
  }
  std::size_t next = skip_blanks(after + 1);
  if (line_ends_at(next)) return true;
  if (stream[next] == ':') {  // a key
    next = skip_blanks(next + 1);
    return line_ends_at(next) || stream[next] == '{';
  }
  std::size_t before = at - 1;  // a value: what precedes its opening quote?
  while (before > 0 && (stream[before - 1] == ' ' || stream[before - 1] == '\t')) --before;
  return before == 0 || is_line_end(stream[before - 1]) || stream[before - 1] == ':';
}

/// The last CR or LF in `text` before `at`, else npos.
[[nodiscard]] constexpr std::size_t last_line_end(std::string_view text, std::size_t at) noexcept {
  while (at > 0) {
    --at;
    if (is_line_end(text[at])) return at;
  }
  return std::string_view::npos;
}

/// Where the event that holds position `at` starts, given that a line starts at `floor`: just
/// after the last blank line between them, else at `floor`. A blank line is two line ends in a
/// row, so it is a run of CR and LF bytes other than a lone CR, LF or CRLF, or any run that
/// starts a line.
[[nodiscard]] constexpr std::size_t event_start(std::string_view stream, std::size_t floor,
                                                std::size_t at) noexcept {
  const std::string_view unread = stream.substr(floor, at - floor);
  std::size_t before = unread.size();
  while (true) {
    const std::size_t last = last_line_end(unread, before);
    if (last == std::string_view::npos) return floor;
    std::size_t run = last;  // the run of line ends is [run, last]
    while (run > 0 && is_line_end(unread[run - 1])) --run;
    const std::size_t length = last + 1 - run;
    if (run == 0 || length > 2 || (length == 2 && unread.substr(run, 2) != "\r\n")) {
      return floor + last + 1;
    }
    before = run;
  }
}

}  // namespace keyward::classify::sse_internal
