// libFuzzer target for the three parsers in keyward/detail/retry_after.hpp.
//
// Input: one "now" selector (see fuzz_check.hpp) and then the field value, given to all three.
// Invariants: no delay is negative; delta-seconds and retry-after-ms agree (N seconds is N * 1000
// ms, saturating); Retry-After with a number is exactly delta-seconds; a date never gives more
// than the time from now to the end of year 9999.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "fuzz_check.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/retry_after.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace std::chrono;
  using keyward::fuzz::require;
  namespace kd = keyward::detail;
  std::string_view text = keyward::fuzz::as_text(data, size);
  const system_clock::time_point now = keyward::fuzz::take_now<system_clock::duration>(text);

  const std::optional<milliseconds> delta = kd::parse_delta_seconds(text);
  const std::optional<milliseconds> ms = kd::parse_retry_after_ms(text);
  const std::optional<milliseconds> after = kd::parse_retry_after(text, now);
  require(!delta || *delta >= milliseconds{0});
  require(!ms || *ms >= milliseconds{0});
  require(!after || *after >= milliseconds{0});

  if (delta) {
    // Every delta-seconds value is also a valid retry-after-ms value, 1000 times smaller.
    require(ms.has_value());
    constexpr milliseconds::rep kMax = milliseconds::max().count();
    require(delta->count() == (ms->count() > kMax / 1000 ? kMax : ms->count() * 1000));
  }
  const std::string_view value = kd::trim_ows(text);
  if (!value.empty() && kd::is_digit(value.front())) {
    require(after == delta);
  } else if (after) {
    // A date is at most 9999-12-31T23:59:60 (in seconds: nanoseconds cannot reach year 10000).
    const sys_seconds latest = sys_days{year{10000} / January / 1};
    require(*after <= duration_cast<milliseconds>(latest - floor<seconds>(now)));
  }
  return 0;
}
