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
#include "keyward/detail/config.hpp"

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
KEYWARD_DECL std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view text, std::chrono::system_clock::time_point now) noexcept;

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/retry_after.ipp"
#endif
