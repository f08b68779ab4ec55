// Classifying each fixture response and each healthy 200 body of the send benchmarks, and each
// parser on a typical input; at 1 and 2 threads.
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include "bodies.hpp"
#include "keyward/classify/anthropic.hpp"
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

void classify_fixture(benchmark::State& state, const testing::Fixture& fixture) {
  const classify::HttpStatus classifier;
  const ClassifyContext context = testing::context_of(fixture);
  for (auto _ : state) {
    auto verdict = classifier.classify(fixture.response, context);
    benchmark::DoNotOptimize(verdict);
  }
}

const bool registered = [] {
  for (const std::string folder : {"generic", "token"}) {
    for (const auto& fixture : testing::load_fixtures(folder)) {
      std::string name = "BM_Classify_" + fixture.name.substr(0, fixture.name.size() - 5);
      benchmark::RegisterBenchmark(name.c_str(), classify_fixture, fixture)
          ->Threads(1)
          ->Threads(2)
          ->UseRealTime();
    }
  }
  return true;
}();

// A healthy 200 with each body of the send benchmarks, by the default classifier and by
// Anthropic's, which scans every event of a stream for an error: bytes per second is the figure.
template <class C>
void classify_healthy(benchmark::State& state, const Canned* canned) {
  Response response{.status = 200, .body = canned->body};
  if (!canned->content_type.empty()) response.headers.add("content-type", canned->content_type);
  const C classifier;
  const ClassifyContext context{.endpoint = Endpoint::api, .credential = CredentialKind::api_key};
  for (auto _ : state) {
    auto verdict = classifier.classify(response, context);
    benchmark::DoNotOptimize(verdict);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(canned->body.size()));
}

const bool registered_healthy = [] {
  for (const Canned& canned : canned_responses()) {
    if (canned.body.empty()) continue;
    const std::string name = "BM_Classify_200/" + std::string{canned.name};
    benchmark::RegisterBenchmark((name + "/http_status").c_str(),
                                 classify_healthy<classify::HttpStatus>, &canned)
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
    benchmark::RegisterBenchmark((name + "/anthropic").c_str(),
                                 classify_healthy<classify::Anthropic>, &canned)
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
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
BENCHMARK(BM_Parse_Json)->Threads(1)->Threads(2)->UseRealTime();

// The parsers are constexpr: inputs pass through DoNotOptimize so that nothing is folded away.
void BM_Parse_HttpDate(benchmark::State& state) {
  std::string_view input = "Wed, 04 Feb 2026 12:00:20 GMT";
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    benchmark::DoNotOptimize(detail::parse_http_date(input, kNow));
  }
}
BENCHMARK(BM_Parse_HttpDate)->Threads(1)->Threads(2)->UseRealTime();

void BM_Parse_RetryAfter(benchmark::State& state) {
  std::string_view input = "120";
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    benchmark::DoNotOptimize(detail::parse_retry_after(input, kNow));
  }
}
BENCHMARK(BM_Parse_RetryAfter)->Threads(1)->Threads(2)->UseRealTime();

void BM_Parse_WwwAuthenticate(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(detail::parse_www_authenticate(
        R"(Bearer realm="example", error="invalid_token", error_description="The access token expired")"));
  }
}
BENCHMARK(BM_Parse_WwwAuthenticate)->Threads(1)->Threads(2)->UseRealTime();

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
BENCHMARK(BM_Redact_KeyEchoes)->Arg(64 << 10)->Arg(1 << 20)->Threads(1)->Threads(2)->UseRealTime();

void BM_Scrub_CleanAndScrub(benchmark::State& state) {
  const std::string message = masked_key_message(static_cast<std::size_t>(state.range(0)));
  const std::array<std::string_view, 2> secrets{"sk-proj-abcdefghij21sA", "refresh-abcdefghij"};
  for (auto _ : state) benchmark::DoNotOptimize(detail::clean_and_scrub(message, secrets));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Scrub_CleanAndScrub)
    ->Arg(64 << 10)
    ->Arg(1 << 20)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

}  // namespace
}  // namespace keyward::bench
