// The whole send() against a transport that does nothing but build its response (empty, an
// Anthropic message, an OpenAI embeddings response, an Anthropic stream), beside a careful
// hand-written client calling that transport directly; and the single-flight storm: 64 threads
// on an expired token.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
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

// The careful client without keyward: the header is built once per token and copied into each
// request, which is what attaching costs when nothing is shared.
void send_direct(benchmark::State& state, const Canned* canned) {
  const NullTransport transport{canned};
  const std::string cached = "Bearer " + token_for(0);
  const auto before = thread_allocations();
  for (auto _ : state) {
    Request request = post_request();
    request.headers.set("authorization", cached);
    auto response = transport.send(request);
    benchmark::DoNotOptimize(response);
  }
  count_allocations(state, before);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(canned->body.size()));
}

// One credential per body kind, shared by every thread that sends with it.
ResilientCredential<NullTransport>& credential_for(const Canned* canned) {
  using Credentialed = ResilientCredential<NullTransport>;
  static const auto all = [] {
    std::vector<std::unique_ptr<Credentialed>> out;
    for (const auto& c : canned_responses()) {
      out.push_back(
          std::make_unique<Credentialed>(NullTransport{&c}, Credential::api_key(token_for(0))));
    }
    return out;
  }();
  return *all.at(static_cast<std::size_t>(canned - canned_responses().data()));
}

// The careful client with keyward: the request is passed by reference and used in place.
void send_keyward(benchmark::State& state, const Canned* canned) {
  auto& credential = credential_for(canned);
  {
    Request first = post_request();  // the first read of a thread fills its cache
    benchmark::DoNotOptimize(credential.send(first));
  }
  const auto before = thread_allocations();
  for (auto _ : state) {
    Request request = post_request();
    auto response = credential.send(request);
    benchmark::DoNotOptimize(response);
  }
  count_allocations(state, before);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(canned->body.size()));
}

// The same send through a pool of state.range(0) API keys choosing by `selection` (the empty
// body; one thread: each run builds its own pool).
void send_pool(benchmark::State& state, Selection selection) {
  const auto pool =
      make_send_pool(static_cast<std::size_t>(state.range(0)), selection, &canned_responses()[0]);
  for (std::size_t i = 0; i < static_cast<std::size_t>(state.range(0)); ++i) {
    Request first = post_request();  // every profile's first read fills the cache
    benchmark::DoNotOptimize(pool->send(first));
  }
  const auto before = thread_allocations();
  for (auto _ : state) {
    Request request = post_request();
    auto response = pool->send(request);
    benchmark::DoNotOptimize(response);
  }
  count_allocations(state, before);
}

const bool registered = [] {
  for (const Selection selection : {Selection::priority, Selection::round_robin,
                                    Selection::least_recently_used, Selection::weighted}) {
    const std::string name = "BM_Send_Pool/" + std::string{to_string(selection)};
    benchmark::RegisterBenchmark(name.c_str(), send_pool, selection)
        ->Arg(1)
        ->Arg(128)
        ->Threads(1)
        ->UseRealTime();
  }
  for (const Canned& c : canned_responses()) {
    const Canned* canned = &c;
    const std::string direct = "BM_Send_Direct/" + std::string{canned->name};
    benchmark::RegisterBenchmark(direct.c_str(), send_direct, canned)
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
    const std::string keyward = "BM_Send_Keyward/" + std::string{canned->name};
    benchmark::RegisterBenchmark(keyward.c_str(), send_keyward, canned)
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
  }
  return true;
}();

// The storm: 64 threads call send() with a token that has expired. The token endpoint takes
// 2 ms. Reports token-endpoint calls per storm (must be 1) and how long after the refresh
// completed each waiting thread got its response. It starts its own 64 threads, so it has no
// 2-thread variant.
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
