// Definitions for keyward/detail/retry_after.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/http_date.hpp"
#include "keyward/detail/retry_after.hpp"

namespace keyward::detail {

KEYWARD_DECL std::optional<std::chrono::milliseconds> parse_retry_after(
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
