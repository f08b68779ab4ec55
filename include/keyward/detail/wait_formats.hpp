// Parsers for the waits that LLM providers name outside Retry-After: RFC 3339 timestamps
// (Anthropic's anthropic-ratelimit-*-reset), Go time.Duration strings (OpenAI's
// x-ratelimit-reset-*) and the JSON form of google.protobuf.Duration (Google's
// RetryInfo.retryDelay).
//
// Like retry_after.hpp these only parse: capping, and choosing between several headers, is the
// caller's policy. Each looks at every byte a bounded number of times, forgives only surrounding
// SP/HTAB, and saturates at std::chrono::milliseconds::max() instead of overflowing, so hostile
// values can neither take long nor trigger undefined behaviour.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "keyward/detail/ascii.hpp"

namespace keyward::detail {

namespace wait_formats_internal {

using Rep = std::chrono::milliseconds::rep;
inline constexpr Rep kMaxMs = std::chrono::milliseconds::max().count();
inline constexpr std::int64_t kNanosPerMs = 1'000'000;

/// Adds two non-negative counts, clamping at kMaxMs.
constexpr Rep saturating_add(Rep a, Rep b) noexcept { return a > kMaxMs - b ? kMaxMs : a + b; }

/// An exact non-negative duration: whole milliseconds (saturating) plus the nanoseconds below one.
struct Nanos {
  Rep ms = 0;
  std::int64_t sub_ms = 0;

  /// Adds `ns` nanoseconds, which must be below about 9e17 so that nothing here can overflow.
  constexpr void add_nanos(std::int64_t ns) noexcept {
    const std::int64_t total = sub_ms + ns;
    ms = saturating_add(ms, total / kNanosPerMs);
    sub_ms = total % kNanosPerMs;
  }

  /// Replaces the value v by 10 * v + ns, the step of reading one more integer digit.
  constexpr void shift_in(std::int64_t ns) noexcept {
    ms = ms > kMaxMs / 10 ? kMaxMs : ms * 10;
    sub_ms *= 10;
    add_nanos(ns);
  }

  /// Adds another exact duration.
  constexpr void add(const Nanos& other) noexcept {
    ms = saturating_add(ms, other.ms);
    add_nanos(other.sub_ms);
  }
};

/// Returns digits-before-the-point.digits-after-the-point times `unit_ns` nanoseconds, with the
/// fraction's contribution truncated to whole nanoseconds; every digit must be checked already.
constexpr Nanos scaled_decimal(std::string_view whole, std::string_view fraction,
                               std::int64_t unit_ns) noexcept {
  Nanos out;
  // Digit by digit in exact arithmetic, so "99999999999999999999ns" is not mistaken for a
  // saturated value the way a first conversion to an integer count of nanoseconds would be.
  for (const char c : whole) out.shift_in((c - '0') * unit_ns);
  // 0.d1..dn * unit, long multiplication from the last digit: the final carry is the exact
  // integer part, and it stays below unit_ns, for any number of digits.
  std::int64_t carry = 0;
  for (std::size_t i = fraction.size(); i > 0; --i) {
    carry = ((fraction[i - 1] - '0') * unit_ns + carry) / 10;
  }
  out.add_nanos(carry);
  return out;
}

/// Returns the length of the leading run of ASCII digits in `text`.
constexpr std::size_t digit_run(std::string_view text) noexcept {
  std::size_t n = 0;
  while (n < text.size() && is_digit(text[n])) ++n;
  return n;
}

/// Returns the length of a Go number "[digits][.digits]" at the start of `text`, or 0 if none.
constexpr std::size_t go_number_length(std::string_view text) noexcept {
  const std::size_t whole = digit_run(text);
  if (whole >= text.size() || text[whole] != '.') return whole;
  const std::size_t fraction = digit_run(text.substr(whole + 1));
  // Go accepts "1.s" and ".5s" but not a bare "." (a number needs a digit on either side).
  return whole + fraction == 0 ? 0 : whole + 1 + fraction;
}

/// Returns the nanoseconds in one Go duration unit (case-sensitive, as Go's are), or 0.
constexpr std::int64_t go_unit_nanos(std::string_view unit) noexcept {
  constexpr std::int64_t kSecond = 1'000'000'000;
  if (unit == "ns") return 1;
  // Both micro signs Go knows: U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU, in UTF-8.
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1'000;
  if (unit == "ms") return kNanosPerMs;
  if (unit == "s") return kSecond;
  if (unit == "m") return 60 * kSecond;
  if (unit == "h") return 3600 * kSecond;
  return 0;
}

/// Consumes exactly `count` ASCII digits from the front of `text` into `out`.
constexpr bool take_digits(std::string_view& text, std::size_t count, int& out) noexcept {
  if (text.size() < count || digit_run(text.substr(0, count)) != count) return false;
  out = 0;
  for (std::size_t i = 0; i < count; ++i) out = out * 10 + (text[i] - '0');
  text.remove_prefix(count);
  return true;
}

/// Consumes one byte from the front of `text` if it is `a` or `b`.
constexpr bool take_either(std::string_view& text, char a, char b) noexcept {
  if (text.empty() || (text.front() != a && text.front() != b)) return false;
  text.remove_prefix(1);
  return true;
}

/// Consumes one byte from the front of `text` if it is `c`.
constexpr bool take_char(std::string_view& text, char c) noexcept {
  return take_either(text, c, c);
}

}  // namespace wait_formats_internal

/// Parses an RFC 3339 date-time such as "2026-02-04T12:00:20Z" or "...20.5+01:00" into UTC,
/// keeping whole milliseconds.
constexpr std::optional<std::chrono::sys_time<std::chrono::milliseconds>> parse_rfc3339(
    std::string_view text) noexcept {
  using namespace std::chrono;
  namespace in = wait_formats_internal;
  text = trim_ows(text);
  int y = 0;
  int mon = 0;
  int d = 0;
  int h = 0;
  int min = 0;
  int s = 0;
  // RFC 3339 section 5.6 lets "T" and "Z" be lower case; its optional space separator is not
  // part of the grammar proper and is rejected here.
  if (!in::take_digits(text, 4, y) || !in::take_char(text, '-') || !in::take_digits(text, 2, mon) ||
      !in::take_char(text, '-') || !in::take_digits(text, 2, d) ||
      !in::take_either(text, 'T', 't') || !in::take_digits(text, 2, h) ||
      !in::take_char(text, ':') || !in::take_digits(text, 2, min) || !in::take_char(text, ':') ||
      !in::take_digits(text, 2, s)) {
    return std::nullopt;
  }
  // Second 60 is a leap second; as in http_date.hpp it is taken as the instant one second later.
  if (h > 23 || min > 59 || s > 60) return std::nullopt;

  int frac_ms = 0;
  if (in::take_char(text, '.')) {
    const std::size_t n = in::digit_run(text);
    if (n == 0) return std::nullopt;
    // Digits past the third are validated but truncated.
    for (std::size_t i = 0; i < 3; ++i) frac_ms = frac_ms * 10 + (i < n ? text[i] - '0' : 0);
    text.remove_prefix(n);
  }

  minutes offset{0};
  if (!in::take_either(text, 'Z', 'z')) {
    const bool west = !text.empty() && text.front() == '-';
    int oh = 0;
    int om = 0;
    // "-00:00" (offset unknown, RFC 3339 section 4.3) still names a UTC instant, like "Z".
    if (!in::take_either(text, '+', '-') || !in::take_digits(text, 2, oh) ||
        !in::take_char(text, ':') || !in::take_digits(text, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = hours{oh} + minutes{om};
    if (west) offset = -offset;
  }
  if (!text.empty()) return std::nullopt;

  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mon)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_time<milliseconds>{sys_days{ymd}} + hours{h} + minutes{min} + seconds{s} +
         milliseconds{frac_ms} - offset;
}

/// Parses a Go time.Duration string such as "6m0s", "644ms" or "2m59.56s", truncated to whole
/// milliseconds and saturating; negative durations are rejected.
constexpr std::optional<std::chrono::milliseconds> parse_go_duration(
    std::string_view text) noexcept {
  namespace in = wait_formats_internal;
  text = trim_ows(text);
  // Go allows a '+'; a '-' (even on "-0s") is refused, since no server means a wait in the past.
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  // Zero is the only number Go accepts without a unit.
  if (text == "0") return std::chrono::milliseconds{0};
  if (text.empty()) return std::nullopt;

  in::Nanos total;
  while (!text.empty()) {
    const std::size_t number = in::go_number_length(text);
    if (number == 0) return std::nullopt;
    std::size_t unit_end = number;
    // As in Go, the unit runs to the next digit or '.', and then must be a known unit.
    while (unit_end < text.size() && !is_digit(text[unit_end]) && text[unit_end] != '.') {
      ++unit_end;
    }
    const std::int64_t unit_ns = in::go_unit_nanos(text.substr(number, unit_end - number));
    if (unit_ns == 0) return std::nullopt;
    const std::size_t whole = in::digit_run(text);
    const std::string_view fraction =
        whole < number ? text.substr(whole + 1, number - whole - 1) : std::string_view{};
    // Each term is exact to the nanosecond before the sum is truncated, as Go does it.
    total.add(in::scaled_decimal(text.substr(0, whole), fraction, unit_ns));
    text.remove_prefix(unit_end);
  }
  return std::chrono::milliseconds{total.ms};
}

/// Parses the JSON form of a google.protobuf.Duration such as "26s" or "1.5s", truncated to
/// whole milliseconds and saturating; negative durations are rejected.
constexpr std::optional<std::chrono::milliseconds> parse_protobuf_duration(
    std::string_view text) noexcept {
  namespace in = wait_formats_internal;
  text = trim_ows(text);
  if (text.empty() || text.back() != 's') return std::nullopt;
  text.remove_suffix(1);
  const std::size_t whole = in::digit_run(text);
  if (whole == 0) return std::nullopt;
  std::string_view fraction;
  if (whole < text.size()) {
    fraction = text.substr(whole + 1);
    // The proto3 JSON mapping allows up to nine fractional digits, i.e. whole nanoseconds.
    if (text[whole] != '.' || fraction.empty() || fraction.size() > 9 ||
        in::digit_run(fraction) != fraction.size()) {
      return std::nullopt;
    }
  }
  return std::chrono::milliseconds{
      in::scaled_decimal(text.substr(0, whole), fraction, 1'000'000'000).ms};
}

}  // namespace keyward::detail
