// libFuzzer target for the three parsers in keyward/detail/wait_formats.hpp.
//
// Input: one mode byte, then the value. Mode '0' (modulo 4) is RFC 3339, '1' a Go duration, '2' a
// protobuf Duration, '3' all three. Invariants: durations are never negative; a protobuf Duration
// is also a Go duration of the same value; a Go duration written twice in a row is twice as long
// (to within the truncated millisecond) and "1.5s" is "1500ms"; an RFC 3339 instant lies within a
// day of years 0..9999, written back out in UTC parses to itself, and a UTC input is printed back
// as itself.
#include <algorithm>
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
#include "keyward/detail/wait_formats.hpp"

namespace {

using namespace std::chrono;
using keyward::fuzz::require;
namespace kd = keyward::detail;

constexpr milliseconds::rep kMax = milliseconds::max().count();

/// Rewrites a one-term Go duration in the unit 1000 times smaller ("1.5s" becomes "1500ms"), or
/// returns "" if `value` is not one term in s, ms or us.
std::string in_smaller_unit(std::string_view value) {
  const std::size_t number_end = value.find_first_not_of("0123456789.");
  if (number_end == std::string_view::npos) return "";
  const std::string_view number = value.substr(0, number_end);
  const std::string_view unit = value.substr(number_end);
  const char* smaller = unit == "s" ? "ms" : unit == "ms" ? "us" : unit == "us" ? "ns" : nullptr;
  const std::size_t dot = number.find('.');
  if (smaller == nullptr || dot == std::string_view::npos) return "";
  const std::string_view fraction = number.substr(dot + 1);
  std::string out(number.substr(0, dot));
  out += fraction.substr(0, 3);
  out.append(3 - std::min<std::size_t>(fraction.size(), 3), '0');
  if (fraction.size() > 3) {
    out += '.';
    out += fraction.substr(3);
  }
  return out + smaller;
}

void check_go(std::string_view text) {
  const std::optional<milliseconds> go = kd::parse_go_duration(text);
  if (!go) return;
  require(*go >= milliseconds{0});
  const std::string_view value = kd::trim_ows(text);
  if (value.front() == '+' || value == "0") return;
  // Moving the point three places and the unit one step is the same value, read by the code
  // for whole digits instead of the code for fractions.
  if (const std::string smaller = in_smaller_unit(value); !smaller.empty()) {
    require(kd::parse_go_duration(smaller) == go);
  }
  // Terms add up exactly before truncation, so X followed by X is 2x or 2x + 1 ms.
  const std::optional<milliseconds> twice = kd::parse_go_duration(std::string(value).append(value));
  require(twice.has_value());
  if (go->count() > kMax / 2) {
    require(twice->count() >= go->count());
  } else {
    require(twice->count() == 2 * go->count() || twice->count() == 2 * go->count() + 1);
  }
}

void check_protobuf(std::string_view text) {
  const std::optional<milliseconds> proto = kd::parse_protobuf_duration(text);
  if (!proto) return;
  require(*proto >= milliseconds{0});
  require(kd::parse_go_duration(text) == proto);
}

void check_rfc3339(std::string_view text) {
  const std::optional<sys_time<milliseconds>> time = kd::parse_rfc3339(text);
  if (!time) return;
  require(*time >= sys_days{year{-1} / December / 31});
  require(*time < sys_days{year{10000} / January / 2});
  const sys_days day = floor<days>(*time);
  const year_month_day ymd{day};
  const hh_mm_ss hms{*time - day};
  const int y = static_cast<int>(ymd.year());
  if (y < 0 || y > 9999) return;
  std::array<char, 64> buffer{};
  const int n = std::snprintf(
      buffer.data(), buffer.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y,
      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
      static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
      static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  require(n > 0 && static_cast<std::size_t>(n) < buffer.size());
  const std::string_view printed{buffer.data(), static_cast<std::size_t>(n)};
  require(kd::parse_rfc3339(printed) == time);

  // A UTC input without a leap second is printed back as itself, up to the case of 'T' and the
  // digits of the fraction past milliseconds: no impossible date or time is silently normalised.
  const std::string_view value = kd::trim_ows(text);
  if ((value.back() == 'Z' || value.back() == 'z') && value.substr(17, 2) != "60") {
    std::string expected(value.substr(0, 19));
    expected[10] = 'T';
    expected += '.';
    const std::string_view fraction = value[19] == '.' ? value.substr(20, value.size() - 21) : "";
    expected += std::string(fraction.substr(0, 3)) +
                std::string(3 - std::min<std::size_t>(fraction.size(), 3), '0');
    require(printed == expected + "Z");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text = keyward::fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      check_rfc3339(text);
      break;
    case 1:
      check_go(text);
      break;
    case 2:
      check_protobuf(text);
      break;
    default:
      check_rfc3339(text);
      check_go(text);
      check_protobuf(text);
  }
  return 0;
}
