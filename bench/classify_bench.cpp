// Classifying each fixture response, and each parser on a typical input.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "keyward/classify/http_status.hpp"
#include "keyward/detail/http_date.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/retry_after.hpp"
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

}  // namespace
}  // namespace keyward::bench
