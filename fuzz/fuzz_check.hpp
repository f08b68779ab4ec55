// Helpers shared by keyward's libFuzzer targets (one target per parser, see CMakeLists.txt).
//
// A violated invariant calls __builtin_trap() rather than assert(), so that it fires whatever
// NDEBUG says and libFuzzer reports it as a crash with the input that caused it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keyward::fuzz {

/// Crashes the fuzzer when an invariant does not hold.
inline void require(bool holds) {
  if (!holds) __builtin_trap();
}

/// Views the fuzzer's bytes as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bytes are chars to the parsers.
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits a "now" off the front of the input: a byte below 0x80 picks one of eight interesting
/// instants (so seed files stay readable text, '@' picking the fixtures' 2026-02-04T12:00:00Z);
/// a byte from 0x80 up takes the next eight bytes as any tick count at all.
template <class Duration>
std::chrono::sys_time<Duration> take_now(std::string_view& text) {
  using std::chrono::seconds;
  using Time = std::chrono::sys_time<Duration>;
  const auto at = [](std::int64_t s) {
    return Time{std::chrono::duration_cast<Duration>(seconds{s})};
  };
  if (text.empty()) return at(1770206400);
  const auto selector = static_cast<unsigned char>(text.front());
  text.remove_prefix(1);
  if (selector >= 0x80) {
    std::uint64_t raw = 0;
    for (std::size_t i = 0; i < 8 && !text.empty(); ++i) {
      raw = (raw << 8U) | static_cast<unsigned char>(text.front());
      text.remove_prefix(1);
    }
    return Time{Duration{static_cast<typename Duration::rep>(raw)}};
  }
  switch (selector % 8) {
    case 0:
      return at(1770206400);  // 2026-02-04T12:00:00Z
    case 1:
      return at(0);  // the epoch
    case 2:
      return at(784111747);  // 1994-11-06T08:49:07Z, 30 s before the RFC 9110 example
    case 3:
      return at(2524607999);  // 2049-12-31T23:59:59Z
    case 4:
      return at(2524608000);  // 2050-01-01T00:00:00Z
    case 5:
      return at(-2208988800);  // 1900-01-01T00:00:00Z
    case 6:
      return Time::min();
    default:
      return Time::max();
  }
}

}  // namespace keyward::fuzz
