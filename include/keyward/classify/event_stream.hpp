// Reading server-sent event streams (WHATWG HTML section 9.2) fast, for the classifiers that look
// for the error event of a stream that failed after a 2xx (error_document.hpp).
//
// A healthy stream of any size must cost little more than one look at its bytes. An error event
// always says "error", in its name or in its data, so the stream is searched for that word (by
// its "rr", 128 bytes at a time) and only where it says it in a way that can make an error
// event is the event around it split into lines (memchr for LF and CR).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace keyward::classify::sse_internal {

/// True for the bytes that end lines in an event stream.
[[nodiscard]] constexpr bool is_line_end(char c) noexcept { return c == '\n' || c == '\r'; }

/// Splits a stream into lines ending in CRLF, LF or CR (WHATWG HTML 9.2.5). The next LF and the
/// next CR are each searched for once and kept until passed, so an LF-only stream costs one
/// memchr per line and a stream without LF one memchr in all.
class Lines {
 public:
  /// Reads `stream` from its start.
  constexpr explicit Lines(std::string_view stream) noexcept : stream_(stream) {}

  /// True when every line has been read.
  [[nodiscard]] constexpr bool empty() const noexcept { return at_ == stream_.size(); }
  /// Where the next line starts.
  [[nodiscard]] constexpr std::size_t position() const noexcept { return at_; }
  /// Skips ahead to `line`, the start of a line at or after position().
  constexpr void skip_to(std::size_t line) noexcept { at_ = line; }

  /// Removes and returns the next line, without its end.
  constexpr std::string_view next() noexcept {
    // npos is never below at_: no search; kUnsearched always is (a healthy stream is never
    // split into lines, so it is never searched for a CR it does not have).
    if (lf_ < at_ || lf_ == kUnsearched) lf_ = stream_.find('\n', at_);
    if (cr_ < at_ || cr_ == kUnsearched) cr_ = stream_.find('\r', at_);
    const std::size_t end = std::min(std::min(lf_, cr_), stream_.size());
    const std::string_view line = stream_.substr(at_, end - at_);
    const bool crlf = end + 1 < stream_.size() && stream_[end] == '\r' && stream_[end + 1] == '\n';
    at_ = end == stream_.size() ? end : end + (crlf ? 2 : 1);
    return line;
  }

 private:
  static constexpr std::size_t kUnsearched = std::string_view::npos - 1;
  std::string_view stream_;
  std::size_t at_ = 0;
  std::size_t lf_ = kUnsearched;  // the next LF at or after at_, npos when there is none
  std::size_t cr_ = kUnsearched;  // the next CR likewise
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

// "error" at s has an "rr" at s + 1, and "rr" is rare in text and JSON; so find_error() looks
// for "rr" 128 bytes at a time with vector compares on x86-64 (AVX2's where the CPU has them,
// else SSE2's), and only in a block that has one does it take the pairs as bit masks, 63 at a
// time (the 64th byte's pair is the next mask's), and check for "error" at each.

/// Finding "rr" pairs without vector instructions (and in constant expressions).
struct PortablePairs {
  /// Bit i set when `bytes[i]` and `bytes[i + 1]` are both 'r', for i in [0, 63); reads 64 bytes.
  static constexpr std::uint64_t pairs(const char* bytes) noexcept {
    std::uint64_t found = 0;
    for (std::size_t i = 0; i < 63; ++i) {
      if (bytes[i] == 'r' && bytes[i + 1] == 'r') found |= std::uint64_t{1} << i;
    }
    return found;
  }
  /// False only when the pairs at [0, 126) hold no "rr" (others may answer true for the pairs up
  /// to 128); reads up to 129 bytes.
  static constexpr bool any(const char* bytes) noexcept {
    return (pairs(bytes) | pairs(bytes + 63)) != 0;
  }
};

#if defined(__SSE2__)
/// PortablePairs with SSE2, 16 bytes per compare.
struct Sse2Pairs {
  static std::uint64_t pairs(const char* bytes) noexcept {
    const __m128i r = _mm_set1_epi8('r');
    const auto rs16 = [r](const char* at) {
      const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
      return std::uint64_t{static_cast<std::uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, r)))};
    };
    const std::uint64_t rs =
        rs16(bytes) | rs16(bytes + 16) << 16 | rs16(bytes + 32) << 32 | rs16(bytes + 48) << 48;
    return rs & rs >> 1;
  }
  static bool any(const char* bytes) noexcept {
    const __m128i r = _mm_set1_epi8('r');
    __m128i found = _mm_setzero_si128();
    for (std::size_t i = 0; i < 128; i += 16) {
      const __m128i here = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + i));
      const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + i + 1));
      found = _mm_or_si128(found, _mm_and_si128(_mm_cmpeq_epi8(here, r), _mm_cmpeq_epi8(next, r)));
    }
    return _mm_movemask_epi8(found) != 0;
  }
};
#endif

#if defined(__x86_64__) && defined(__GNUC__)  // g++ and clang++
#define KEYWARD_DETAIL_AVX2 1
/// PortablePairs with AVX2, 32 bytes per compare; only for a CPU that has AVX2. (No lambdas: a
/// lambda is not compiled for AVX2 when its function is.)
struct Avx2Pairs {
  [[gnu::target("avx2")]] static std::uint64_t pairs(const char* bytes) noexcept {
    const __m256i r = _mm256_set1_epi8('r');
    const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes));
    const __m256i high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes + 32));
    const auto low_rs = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(low, r)));
    const auto high_rs =
        static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(high, r)));
    const std::uint64_t rs = std::uint64_t{low_rs} | std::uint64_t{high_rs} << 32;
    return rs & rs >> 1;
  }
  [[gnu::target("avx2")]] static bool any(const char* bytes) noexcept {
    const __m256i r = _mm256_set1_epi8('r');
    __m256i found = _mm256_setzero_si256();
    for (std::size_t i = 0; i < 128; i += 32) {
      const __m256i here = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes + i));
      const __m256i next = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes + i + 1));
      found = _mm256_or_si256(
          found, _mm256_and_si256(_mm256_cmpeq_epi8(here, r), _mm256_cmpeq_epi8(next, r)));
    }
    return _mm256_testz_si256(found, found) == 0;
  }
};
#endif

/// The first "error" in `text` at or after `from`, else npos; `Means` finds the "rr" pairs.
/// Always inlined, so that its AVX2 instance is compiled for AVX2 with its caller.
template <class Means>
[[nodiscard, gnu::always_inline]] constexpr std::size_t find_error_by(std::string_view text,
                                                                      std::size_t from) noexcept {
  const std::size_t n = text.size();
  if (from >= n || n - from < 5) return std::string_view::npos;
  const char* const bytes = text.data();
  const auto error_around = [bytes](std::size_t pair) {
    return bytes[pair] == 'r' && bytes[pair + 1] == 'r' && bytes[pair - 1] == 'e' &&
           bytes[pair + 2] == 'o' && bytes[pair + 3] == 'r';
  };
  // The "error" around the first pair of a mask of 63 from `pair`, else npos.
  const auto in_mask = [&](std::size_t pair) {
    for (std::uint64_t found = Means::pairs(bytes + pair); found != 0; found &= found - 1) {
      const auto at = pair + static_cast<std::size_t>(std::countr_zero(found));
      if (error_around(at)) return at - 1;
    }
    return std::string_view::npos;
  };
  constexpr std::size_t kPairs = 63;  // per mask
  const std::size_t last = n - 4;     // the last pair that leaves room for "or"
  std::size_t pair = from + 1;
  // A block of two masks reads up to bytes[pair + 128], n - 1 at most; a mask, bytes[last + 3].
  for (; pair + 2 * kPairs + 3 <= last + 1; pair += 2 * kPairs) {
    if (!Means::any(bytes + pair)) continue;
    if (const auto at = in_mask(pair); at != std::string_view::npos) return at;
    if (const auto at = in_mask(pair + kPairs); at != std::string_view::npos) return at;
  }
  for (; pair + kPairs <= last + 1; pair += kPairs) {
    if (const auto at = in_mask(pair); at != std::string_view::npos) return at;
  }
  for (; pair <= last; ++pair) {
    if (error_around(pair)) return pair - 1;
  }
  return std::string_view::npos;
}

#if defined(KEYWARD_DETAIL_AVX2)
/// find_error_by() with AVX2's pairs, compiled for AVX2.
[[nodiscard, gnu::target("avx2")]] inline std::size_t find_error_avx2(std::string_view text,
                                                                      std::size_t from) noexcept {
  return find_error_by<Avx2Pairs>(text, from);
}
#endif

/// The first "error" in `text` at or after `from`, else npos, by the fastest means the CPU has.
[[nodiscard]] constexpr std::size_t find_error(std::string_view text, std::size_t from) noexcept {
  if (std::is_constant_evaluated()) return find_error_by<PortablePairs>(text, from);
#if defined(KEYWARD_DETAIL_AVX2)
  if (__builtin_cpu_supports("avx2")) return find_error_avx2(text, from);
#endif
#if defined(__SSE2__)
  return find_error_by<Sse2Pairs>(text, from);
#else
  return find_error_by<PortablePairs>(text, from);
#endif
}

#undef KEYWARD_DETAIL_AVX2

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
