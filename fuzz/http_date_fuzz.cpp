// libFuzzer target for keyward::detail::parse_http_date.
//
// Input: one "now" selector (see fuzz_check.hpp) and then the field value. Invariants: an
// accepted date lies in the years the grammar can spell (four-digit years; two-digit years within
// 100 years below now + 50); written back out in IMF-fixdate and asctime form it parses to the
// same instant, an RFC 850 date written back as RFC 850 does too, and printing the result in the
// input's own form gives back the input (so no impossible date is silently normalised).
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/http_date.hpp"

namespace {

using namespace std::chrono;
using keyward::fuzz::require;

constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 7> kLongDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                  "Thursday", "Friday", "Saturday"};
constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

enum class Form { imf, rfc850, asctime };

std::string format(sys_seconds time, Form form) {
  const sys_days day = floor<days>(time);
  const year_month_day ymd{day};
  const hh_mm_ss hms{time - day};
  const unsigned weekday_index = weekday{day}.c_encoding();
  const int y = static_cast<int>(ymd.year());
  const auto m = static_cast<unsigned>(ymd.month());
  const auto d = static_cast<unsigned>(ymd.day());
  const auto hh = static_cast<int>(hms.hours().count());
  const auto mm = static_cast<int>(hms.minutes().count());
  const auto ss = static_cast<int>(hms.seconds().count());
  std::array<char, 64> buffer{};
  int n = 0;
  switch (form) {
    case Form::imf:
      n = std::snprintf(buffer.data(), buffer.size(), "%s, %02u %s %04d %02d:%02d:%02d GMT",
                        kDays[weekday_index], d, kMonths[m - 1], y, hh, mm, ss);
      break;
    case Form::rfc850:
      n = std::snprintf(buffer.data(), buffer.size(), "%s, %02u-%s-%02d %02d:%02d:%02d GMT",
                        kLongDays[weekday_index], d, kMonths[m - 1], ((y % 100) + 100) % 100, hh,
                        mm, ss);
      break;
    case Form::asctime:
      n = std::snprintf(buffer.data(), buffer.size(), "%s %s %2u %02d:%02d:%02d %04d",
                        kDays[weekday_index], kMonths[m - 1], d, hh, mm, ss, y);
      break;
  }
  require(n > 0 && static_cast<std::size_t>(n) < buffer.size());
  return {buffer.data(), static_cast<std::size_t>(n)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = keyward::fuzz::as_text(data, size);
  const sys_seconds now = keyward::fuzz::take_now<seconds>(text);
  const std::optional<sys_seconds> date = keyward::detail::parse_http_date(text, now);
  if (!date) return 0;

  // The form is told by the day name's length: "Sun," / "Sun " / "Sunday,".
  const std::string_view value = keyward::detail::trim_ows(text);
  const Form form = value.size() > 3 && value[3] == ','   ? Form::imf
                    : value.size() > 3 && value[3] == ' ' ? Form::asctime
                                                          : Form::rfc850;
  const int y = static_cast<int>(year_month_day{floor<days>(*date)}.year());
  if (form == Form::rfc850) {
    // RFC 9110: the most recent year in the past, i.e. at most 50 years after now (which the
    // parser first clamps to years -30000..30000, as here).
    constexpr sys_seconds kMin{sys_days{year{-30000} / January / 1}};
    constexpr sys_seconds kMax{sys_days{year{30000} / December / 31}};
    const sys_seconds clamped = now < kMin ? kMin : (now > kMax ? kMax : now);
    const int limit = static_cast<int>(year_month_day{floor<days>(clamped)}.year()) + 50;
    require(y <= limit + 1 && y >= limit - 101);
    require(keyward::detail::parse_http_date(format(*date, Form::rfc850), now) == date);
  } else {
    // A leap second on 9999-12-31 can carry into year 10000.
    require(y >= 0 && (y <= 9999 || *date == sys_days{year{10000} / January / 1}));
  }
  if (y >= 0 && y <= 9999) {
    require(keyward::detail::parse_http_date(format(*date, Form::imf), now) == date);
    require(keyward::detail::parse_http_date(format(*date, Form::asctime), now) == date);
  }
  // Printing the result in the input's own form gives the input back, apart from the day name
  // (which is not checked against the date) and a leap second (which becomes the next minute).
  if (value.find(":60 ") == std::string_view::npos) {
    const std::size_t after_day_name = form == Form::rfc850 ? value.find(',') : 3;
    std::string printed = format(*date, form);
    // asctime's day is "2DIGIT / ( SP DIGIT )": " 6" and "06" are both the input's own form.
    if (form == Form::asctime && printed[8] == ' ' && value.size() > 8 && value[8] == '0') {
      printed[8] = '0';
    }
    require(printed.substr(printed.find_first_of(", ")) == value.substr(after_day_name));
  }
  return 0;
}
