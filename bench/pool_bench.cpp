// The pool's hot path: choose a profile and read its token (CredentialPool::with_chosen(), the
// part of send() before the transport), at 1, 16 and 128 profiles, per selection strategy; and
// priority selection when every profile but the last is cooling (the longest scan).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "keyward/pool.hpp"

namespace keyward::bench {
namespace {

// Answers 200, or 429 with an hour's wait for a key that ends in "-cool".
struct PoolTransport {
  TransportResult send(const Request& request) const {
    const auto auth = request.headers.get("authorization").value_or("");
    if (auth.ends_with("-cool")) {
      return Response{.status = 429, .headers = {{"retry-after", "3600"}}, .body = {}};
    }
    return Response{.status = 200, .headers = {}, .body = {}};
  }
};

using BenchPool = CredentialPool<PoolTransport>;

std::unique_ptr<BenchPool> g_pool;

std::string pool_key(std::size_t i, bool cool) {
  return "sk-bench-pool-" + std::to_string(i) + "-0123456789abcdef" + (cool ? "-cool" : "");
}

std::unique_ptr<BenchPool> make_pool(std::size_t n, Selection selection, bool cool_all_but_last) {
  std::vector<BenchPool::Profile> profiles;
  for (std::size_t i = 0; i < n; ++i) {
    const bool cool = cool_all_but_last && i + 1 < n;
    profiles.push_back({"p" + std::to_string(i), Credential::api_key(pool_key(i, cool)), 1, {}});
  }
  PoolOptions options;
  options.selection = selection;
  auto pool = std::make_unique<BenchPool>(PoolTransport{}, std::move(profiles), options);
  if (cool_all_but_last) {
    // Priority order: each request takes the first ready profile out, until only the last serves.
    for (std::size_t i = 0; i + 1 < n; ++i) {
      static_cast<void>(pool->send(Request{.method = "GET", .url = "https://api.example.com/"}));
    }
  }
  return pool;
}

template <Selection kSelection, bool kCoolAllButLast = false>
void setup(const benchmark::State& state) {
  g_pool = make_pool(static_cast<std::size_t>(state.range(0)), kSelection, kCoolAllButLast);
}

void teardown(const benchmark::State& /*state*/) { g_pool.reset(); }

void choose_and_read(benchmark::State& state, RequestScope scope) {
  std::string header;
  header.reserve(128);
  const auto once = [&] {
    const auto read = g_pool->with_chosen(scope, [&header](std::string_view, const auto& current) {
      header.assign("Bearer ");
      header.append(current.token);
      return header.size();
    });
    benchmark::DoNotOptimize(read);
  };
  // Every profile read once before counting: this thread's snapshot table grows to the
  // credentials it reads (detail/snapshot_cell.hpp), once, on the first read of each.
  for (std::int64_t i = 0; i <= 2 * state.range(0); ++i) once();
  const auto before = thread_allocations();
  for (auto _ : state) once();
  state.counters["allocs"] = benchmark::Counter(static_cast<double>(thread_allocations() - before),
                                                benchmark::Counter::kAvgIterations);
}

void BM_Pool_Choose(benchmark::State& state) { choose_and_read(state, {}); }
void BM_Pool_ChooseSession(benchmark::State& state) {
  choose_and_read(state, {.model = {}, .session = "conversation-42"});
}

template <Selection kSelection, bool kCool = false>
void register_pool(const std::string& name, void (*bench)(benchmark::State&)) {
  benchmark::RegisterBenchmark(name.c_str(), bench)
      ->Setup(setup<kSelection, kCool>)
      ->Teardown(teardown)
      ->Arg(1)
      ->Arg(16)
      ->Arg(128)
      ->Threads(1)
      ->UseRealTime();
}

const bool registered = [] {
  register_pool<Selection::priority>("BM_Pool_Choose/priority", BM_Pool_Choose);
  register_pool<Selection::priority, true>("BM_Pool_Choose/priority_last_ready", BM_Pool_Choose);
  register_pool<Selection::round_robin>("BM_Pool_Choose/round_robin", BM_Pool_Choose);
  register_pool<Selection::least_recently_used>("BM_Pool_Choose/least_recently_used",
                                                BM_Pool_Choose);
  register_pool<Selection::weighted>("BM_Pool_Choose/weighted", BM_Pool_Choose);
  register_pool<Selection::priority>("BM_Pool_ChooseSession/priority", BM_Pool_ChooseSession);
  return true;
}();

}  // namespace
}  // namespace keyward::bench
