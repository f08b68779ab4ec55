// Parsers for the server-supplied back-off hints: Retry-After (RFC 9110 section 10.2.3) and the
// non-standard but widely sent retry-after-ms header.
//
// All three return a plain delay in milliseconds and leave policy (capping, jitter, ignoring
// absurd values) to the caller. Arithmetic saturates at std::chrono::milliseconds::max() instead
// of overflowing, so hostile header values can never trigger undefined behaviour.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/http_date.hpp"

namespace keyward::detail {

namespace retry_after_internal {

/// Parses 1*DIGIT as a count of `unit_ms` milliseconds, saturating at milliseconds::max().
constexpr std::optional<std::chrono::milliseconds> parse_scaled_digits(
    std::string_view digits, std::chrono::milliseconds::rep unit_ms) noexcept {
  using Rep = std::chrono::milliseconds::rep;
  if (digits.empty()) return std::nullopt;
  const Rep limit = std::chrono::milliseconds::max().count() / unit_ms;
  Rep value = 0;
  bool saturated = false;
  for (const char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    const Rep digit = c - '0';
    // Keep scanning after saturating: trailing garbage must still reject the whole value.
    if (saturated || value > (limit - digit) / 10) {
      saturated = true;
    } else {
      value = value * 10 + digit;
    }
  }
  if (saturated) return std::chrono::milliseconds::max();
  return std::chrono::milliseconds{value * unit_ms};
}

}  // namespace retry_after_internal

/// Parses RFC 9110 delta-seconds (1*DIGIT) into milliseconds, saturating on overflow.
constexpr std::optional<std::chrono::milliseconds> parse_delta_seconds(
    std::string_view text) noexcept {
  return retry_after_internal::parse_scaled_digits(trim_ows(text), 1000);
}

/// Parses a retry-after-ms value: non-negative decimal milliseconds, any fraction truncated.
constexpr std::optional<std::chrono::milliseconds> parse_retry_after_ms(
    std::string_view text) noexcept {
  text = trim_ows(text);
  const std::size_t dot = text.find('.');
  if (dot != std::string_view::npos) {
    const std::string_view fraction = text.substr(dot + 1);
    // The fraction is validated but dropped: sub-millisecond precision is meaningless here.
    if (fraction.empty() || !std::all_of(fraction.begin(), fraction.end(), is_digit)) {
      return std::nullopt;
    }
    text = text.substr(0, dot);
  }
  return retry_after_internal::parse_scaled_digits(text, 1);
}

/// Parses a Retry-After value (delta-seconds or HTTP-date) into a delay from `now`; past dates
/// give zero.
inline std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view text, std::chrono::system_clock::time_point now) noexcept {
  using namespace std::chrono;
  text = trim_ows(text);
  if (text.empty()) return std::nullopt;
  // An HTTP-date always starts with a day name, so a leading digit can only be delta-seconds.
  if (is_digit(text.front())) return parse_delta_seconds(text);

  // Split `now` into whole seconds and a non-negative fraction without ever converting a
  // rounded-down value back to the clock's finer unit, which could overflow near its minimum.
  const system_clock::duration since_epoch = now.time_since_epoch();
  seconds whole = duration_cast<seconds>(since_epoch);
  system_clock::duration fraction = since_epoch - whole;
  if (fraction < system_clock::duration::zero()) {
    fraction += seconds{1};
    whole -= seconds{1};
  }
  const sys_seconds now_seconds{whole};

  const std::optional<sys_seconds> date = parse_http_date(text, now_seconds);
  if (!date) return std::nullopt;
  if (*date <= now_seconds) return milliseconds{0};
  // A parsed date lies in years 0..9999, so bounding `now` from below bounds the difference.
  constexpr sys_seconds kEarliest{sys_days{year{-30000} / January / 1}};
  const seconds ahead = *date - std::max(now_seconds, kEarliest);
  const milliseconds delay = duration_cast<milliseconds>(ahead) - ceil<milliseconds>(fraction);
  return std::max(delay, milliseconds{0});
}

}  // namespace keyward::detail
