// Classifying each fixture response, and each parser on a typical input.
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include "keyward/classify/http_status.hpp"
#include "keyward/classify/provider_support.hpp"
#include "keyward/detail/http_date.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/retry_after.hpp"
#include "keyward/detail/scrub.hpp"
#include "keyward/detail/www_authenticate.hpp"
#include "support/fixtures.hpp"

namespace keyward::bench {
namespace {

const bool registered = [] {
  for (const std::string folder : {"generic", "token"}) {
    for (const auto& fixture : testing::load_fixtures(folder)) {
      std::string name = "BM_Classify_" + fixture.name.substr(0, fixture.name.size() - 5);
      benchmark::RegisterBenchmark(name.c_str(), [fixture](benchmark::State& state) {
        const classify::HttpStatus classifier;
        const ClassifyContext context = testing::context_of(fixture);
        for (auto _ : state) {
          auto verdict = classifier.classify(fixture.response, context);
          benchmark::DoNotOptimize(verdict);
        }
      });
    }
  }
  return true;
}();

const auto kNow = std::chrono::sys_seconds{
    std::chrono::sys_days{std::chrono::year{2026} / std::chrono::February / 4}};

void BM_Parse_Json(benchmark::State& state) {
  const std::string body =
      R"({"access_token":"sk-ant-oat01-abcdefghijklmnopqrstuvwxyz","token_type":"Bearer",)"
      R"("expires_in":28800,"refresh_token":"sk-ant-ort01-abcdefghijklmnopqrstuvwxyz","scope":"user:inference"})";
  for (auto _ : state) benchmark::DoNotOptimize(detail::json::parse(body));
}
BENCHMARK(BM_Parse_Json);

// The parsers are constexpr: inputs pass through DoNotOptimize so that nothing is folded away.
void BM_Parse_HttpDate(benchmark::State& state) {
  std::string_view input = "Wed, 04 Feb 2026 12:00:20 GMT";
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    benchmark::DoNotOptimize(detail::parse_http_date(input, kNow));
  }
}
BENCHMARK(BM_Parse_HttpDate);

void BM_Parse_RetryAfter(benchmark::State& state) {
  std::string_view input = "120";
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    benchmark::DoNotOptimize(detail::parse_retry_after(input, kNow));
  }
}
BENCHMARK(BM_Parse_RetryAfter);

void BM_Parse_WwwAuthenticate(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(detail::parse_www_authenticate(
        R"(Bearer realm="example", error="invalid_token", error_description="The access token expired")"));
  }
}
BENCHMARK(BM_Parse_WwwAuthenticate);

// A message of state.range(0) bytes full of masked keys: the time per byte stays flat when the
// redaction is linear (it once moved the whole tail for every key).
std::string masked_key_message(std::size_t size) {
  std::string message;
  while (message.size() < size) message.append("key sk-proj-****21sA, (sk-***x). ok ");
  return message;
}

void BM_Redact_KeyEchoes(benchmark::State& state) {
  const std::string message = masked_key_message(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    std::string copy = message;
    classify::redact_key_echoes(copy);
    benchmark::DoNotOptimize(copy);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Redact_KeyEchoes)->Arg(64 << 10)->Arg(1 << 20);

void BM_Scrub_CleanAndScrub(benchmark::State& state) {
  const std::string message = masked_key_message(static_cast<std::size_t>(state.range(0)));
  const std::array<std::string_view, 2> secrets{"sk-proj-abcdefghij21sA", "refresh-abcdefghij"};
  for (auto _ : state) benchmark::DoNotOptimize(detail::clean_and_scrub(message, secrets));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Scrub_CleanAndScrub)->Arg(64 << 10)->Arg(1 << 20);

}  // namespace
}  // namespace keyward::bench
