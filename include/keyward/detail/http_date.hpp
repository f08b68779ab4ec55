// HTTP-date parsing (RFC 9110 section 5.6.7) for headers such as Retry-After.
//
// Accepts the preferred IMF-fixdate and the two obsolete forms (RFC 850 and asctime) exactly as the
// ABNF spells them: case-sensitive day and month names, fixed field widths, single SP separators
// and "GMT" where the grammar requires it. Only surrounding SP/HTAB is forgiven. Calendar maths is
// done with C++20 <chrono> so the result never depends on the C library's time zone or locale.
// The day-of-week name must be a valid name but is not cross-checked against the date, because
// RFC 9110 does not require recipients to do so and real servers occasionally get it wrong.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

#include "keyward/detail/ascii.hpp"

namespace keyward::detail {

namespace http_date_internal {

inline constexpr std::array<std::string_view, 7> kShortDayNames = {"Mon", "Tue", "Wed", "Thu",
                                                                   "Fri", "Sat", "Sun"};
inline constexpr std::array<std::string_view, 7> kLongDayNames = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
inline constexpr std::array<std::string_view, 12> kMonthNames = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/// Forward-only reader over the date text; every method fails without consuming on mismatch.
class DateCursor {
 public:
  /// Starts reading at the first byte of `text`.
  explicit constexpr DateCursor(std::string_view text) noexcept : text_(text) {}

  /// True once every byte has been consumed.
  constexpr bool at_end() const noexcept { return pos_ == text_.size(); }

  /// Consumes `expected` verbatim if it comes next.
  constexpr bool literal(std::string_view expected) noexcept {
    if (!text_.substr(pos_).starts_with(expected)) return false;
    pos_ += expected.size();
    return true;
  }

  /// Consumes exactly `count` ASCII digits and stores their decimal value in `out`.
  constexpr bool digits(std::size_t count, int& out) noexcept {
    if (text_.size() - pos_ < count) return false;
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const char c = text_[pos_ + i];
      if (!is_digit(c)) return false;
      value = value * 10 + (c - '0');
    }
    pos_ += count;
    out = value;
    return true;
  }

  /// Consumes the longest run of ASCII letters, possibly empty.
  constexpr std::string_view word() noexcept {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && is_alpha(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  /// Consumes a three-letter month name and stores its number (1..12) in `out`.
  constexpr bool month(int& out) noexcept {
    for (std::size_t i = 0; i < kMonthNames.size(); ++i) {
      if (literal(kMonthNames[i])) {
        out = static_cast<int>(i) + 1;
        return true;
      }
    }
    return false;
  }

  /// Consumes an "HH:MM:SS" time-of-day with RFC 9110 ranges (second 60 allows a leap second).
  constexpr bool time_of_day(std::chrono::seconds& out) noexcept {
    int h = 0;
    int m = 0;
    int s = 0;
    if (!digits(2, h) || !literal(":") || !digits(2, m) || !literal(":") || !digits(2, s)) {
      return false;
    }
    if (h > 23 || m > 59 || s > 60) return false;
    out = std::chrono::hours{h} + std::chrono::minutes{m} + std::chrono::seconds{s};
    return true;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

/// True if `word` is exactly one of `names` (case-sensitive, as the ABNF's %s strings are).
template <std::size_t N>
constexpr bool is_one_of(std::string_view word,
                         const std::array<std::string_view, N>& names) noexcept {
  return std::ranges::any_of(names, [word](std::string_view name) { return word == name; });
}

/// Picks the century for an RFC 850 two-digit year: the latest matching year that is not more
/// than 50 years after `now`, which is RFC 9110's "most recent year in the past" rule.
constexpr int resolve_two_digit_year(int yy, int mon, int mday, std::chrono::seconds time,
                                     std::chrono::sys_seconds now) noexcept {
  using namespace std::chrono;
  // Clamping keeps the calendar conversion inside std::chrono::year's range for any `now`.
  constexpr sys_seconds kMin{sys_days{year{-30000} / January / 1}};
  constexpr sys_seconds kMax{sys_days{year{30000} / December / 31}};
  now = now < kMin ? kMin : (now > kMax ? kMax : now);
  const sys_days now_days = floor<days>(now);
  const year_month_day today{now_days};
  const seconds now_time = now - now_days;

  const int limit_year = static_cast<int>(today.year()) + 50;
  const int candidate = limit_year - (((limit_year - yy) % 100) + 100) % 100;
  if (candidate < limit_year) return candidate;
  // Same year as the 50-year limit: compare the rest of the timestamp to decide.
  const auto now_month = static_cast<int>(static_cast<unsigned>(today.month()));
  const auto now_day = static_cast<int>(static_cast<unsigned>(today.day()));
  const bool later =
      mon != now_month ? mon > now_month : (mday != now_day ? mday > now_day : time > now_time);
  return later ? candidate - 100 : candidate;
}

/// Combines validated fields into a timestamp, rejecting dates that do not exist.
constexpr std::optional<std::chrono::sys_seconds> make_timestamp(
    int y, int m, int d, std::chrono::seconds time) noexcept {
  using namespace std::chrono;
  if (d < 1 || d > 31) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_seconds{sys_days{ymd}} + time;
}

}  // namespace http_date_internal

/// Parses an RFC 9110 HTTP-date in IMF-fixdate, RFC 850 or asctime form; `now` resolves RFC 850's
/// two-digit years.
constexpr std::optional<std::chrono::sys_seconds> parse_http_date(
    std::string_view text, std::chrono::sys_seconds now) noexcept {
  namespace in = http_date_internal;
  in::DateCursor cur{trim_ows(text)};
  const std::string_view day_name = cur.word();
  int year = 0;
  int month = 0;
  int day = 0;
  std::chrono::seconds time{};

  if (cur.literal(", ")) {
    if (in::is_one_of(day_name, in::kShortDayNames)) {
      // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
      if (!cur.digits(2, day) || !cur.literal(" ") || !cur.month(month) || !cur.literal(" ") ||
          !cur.digits(4, year) || !cur.literal(" ") || !cur.time_of_day(time) ||
          !cur.literal(" GMT") || !cur.at_end()) {
        return std::nullopt;
      }
      return in::make_timestamp(year, month, day, time);
    }
    if (in::is_one_of(day_name, in::kLongDayNames)) {
      // rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"
      int yy = 0;
      if (!cur.digits(2, day) || !cur.literal("-") || !cur.month(month) || !cur.literal("-") ||
          !cur.digits(2, yy) || !cur.literal(" ") || !cur.time_of_day(time) ||
          !cur.literal(" GMT") || !cur.at_end()) {
        return std::nullopt;
      }
      year = in::resolve_two_digit_year(yy, month, day, time, now);
      return in::make_timestamp(year, month, day, time);
    }
    return std::nullopt;
  }

  if (in::is_one_of(day_name, in::kShortDayNames) && cur.literal(" ")) {
    // asctime-date: "Sun Nov  6 08:49:37 1994"; a one-digit day is padded with SP, not '0'.
    if (!cur.month(month) || !cur.literal(" ")) return std::nullopt;
    if (!(cur.literal(" ") ? cur.digits(1, day) : cur.digits(2, day))) return std::nullopt;
    if (!cur.literal(" ") || !cur.time_of_day(time) || !cur.literal(" ") || !cur.digits(4, year) ||
        !cur.at_end()) {
      return std::nullopt;
    }
    return in::make_timestamp(year, month, day, time);
  }
  return std::nullopt;
}

}  // namespace keyward::detail
