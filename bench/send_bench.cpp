// The whole send() against a transport that does nothing, beside calling that transport
// directly; and the single-flight storm: 64 threads on an expired token.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "alloc_counter.hpp"
#include "designs.hpp"

namespace keyward::bench {
namespace {

constexpr const char* kUrl = "https://api.anthropic.com/v1/messages";

void count_allocations(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs"] = benchmark::Counter(static_cast<double>(thread_allocations() - before),
                                                benchmark::Counter::kAvgIterations);
}

void BM_Send_Direct(benchmark::State& state) {
  const NullTransport transport;
  const auto before = thread_allocations();
  for (auto _ : state) {
    Request request{.method = "POST", .url = kUrl};
    request.headers.set("authorization", "Bearer " + token_for(0));  // what keyward attaches
    auto response = transport.send(request);
    benchmark::DoNotOptimize(response);
  }
  count_allocations(state, before);
}
BENCHMARK(BM_Send_Direct)->Threads(1)->Threads(2)->UseRealTime();

ResilientCredential<NullTransport>& shared_credential() {
  static ResilientCredential<NullTransport> credential{NullTransport{},
                                                       Credential::api_key(token_for(0))};
  return credential;
}

void BM_Send_Keyward(benchmark::State& state) {
  auto& credential = shared_credential();
  const auto before = thread_allocations();
  for (auto _ : state) {
    auto response = credential.send({.method = "POST", .url = kUrl});
    benchmark::DoNotOptimize(response);
  }
  count_allocations(state, before);
}
BENCHMARK(BM_Send_Keyward)->Threads(1)->Threads(2)->UseRealTime();

// The storm: 64 threads call send() with a token that has expired. The token endpoint takes
// 2 ms. Reports token-endpoint calls per storm (must be 1) and how long after the refresh
// completed each waiting thread got its response.
struct StormTransport {
  std::atomic<int>* refresh_calls;
  std::atomic<std::int64_t>* refreshed_at;  // steady_clock nanoseconds

  TransportResult send(const Request& request) const {
    if (request.url.find("/oauth/token") == std::string::npos) {
      return Response{.status = 200, .headers = {}, .body = {}};
    }
    refresh_calls->fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
    Response response{.status = 200,
                      .headers = {{"content-type", "application/json"}},
                      .body = R"({"access_token":")" + token_for(1) +
                              R"(","expires_in":3600,"token_type":"Bearer"})"};
    refreshed_at->store(std::chrono::steady_clock::now().time_since_epoch().count());
    return response;
  }
};

struct StormPolicies : DefaultPolicies {
  using Refresh = refresh::OAuth2RefreshToken;
};

void BM_Refresh_Storm(benchmark::State& state) {
  constexpr int kThreads = 64;
  std::vector<double> wake_us;
  std::int64_t total_calls = 0;
  for (auto _ : state) {
    std::atomic<int> calls{0};
    std::atomic<std::int64_t> refreshed_at{0};
    ResilientCredential<StormTransport, StormPolicies> credential{
        StormTransport{&calls, &refreshed_at},
        Credential::oauth(token_for(0), "sk-ant-ort01-" + std::string(40, 'r'),
                          std::chrono::system_clock::now() - std::chrono::seconds{1}),
        {},
        {.refresh = refresh::OAuth2RefreshToken{
             {.token_url = "https://console.anthropic.com/v1/oauth/token"}}}};
    std::vector<std::int64_t> done(kThreads);
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        auto response = credential.send({.method = "POST", .url = kUrl});
        benchmark::DoNotOptimize(response);
        done[static_cast<std::size_t>(i)] =
            std::chrono::steady_clock::now().time_since_epoch().count();
      });
    }
    for (auto& t : threads) t.join();
    total_calls += calls.load();
    for (const auto d : done)
      wake_us.push_back(static_cast<double>(d - refreshed_at.load()) / 1000.0);
  }
  std::sort(wake_us.begin(), wake_us.end());
  state.counters["refresh_calls"] =
      static_cast<double>(total_calls) / static_cast<double>(state.iterations());
  state.counters["wake_p50_us"] = wake_us[wake_us.size() / 2];
  state.counters["wake_p99_us"] = wake_us[wake_us.size() * 99 / 100];
  state.counters["wake_max_us"] = wake_us.back();
}
BENCHMARK(BM_Refresh_Storm)->Iterations(20)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace keyward::bench
