// The hot path: what a request does with the current credential (read the token and state, write
// `Bearer <token>` into a reused buffer), by keyward and by the designs users would otherwise
// pick; at 1, 2 and 4 threads, with and without a writer thread publishing a new credential every
// millisecond. Then pools of N credentials: reading them in turn, and scanning for a ready one.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "alloc_counter.hpp"
#include "designs.hpp"

namespace keyward::bench {
namespace {

constexpr std::size_t kHeaderCapacity = 128;  // the reused buffer never grows in the loop

void count_allocations(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs"] = benchmark::Counter(static_cast<double>(thread_allocations() - before),
                                                benchmark::Counter::kAvgIterations);
}

template <class Design>
struct Shared {
  static inline std::unique_ptr<Design> design;
  static inline std::thread writer;
  static inline std::atomic<bool> stop{false};
  static inline std::atomic<int> publishes{0};
};

template <class Design, bool kWriter>
void setup(const benchmark::State& /*state*/) {
  Shared<Design>::design = std::make_unique<Design>();
  Shared<Design>::stop = false;
  Shared<Design>::publishes = 0;
  if constexpr (kWriter) {
    Shared<Design>::writer = std::thread([] {
      while (!Shared<Design>::stop.load()) {
        Shared<Design>::design->publish();
        ++Shared<Design>::publishes;
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
      }
    });
  }
}

template <class Design>
void teardown(const benchmark::State& /*state*/) {
  Shared<Design>::stop = true;
  if (Shared<Design>::writer.joinable()) Shared<Design>::writer.join();
  Shared<Design>::design.reset();
}

template <class Design>
void acquire(benchmark::State& state) {
  const Design& design = *Shared<Design>::design;
  std::string header;
  header.reserve(kHeaderCapacity);
  design.read(header);  // the first read of a thread fills its cache
  // With a writer, reading on until a read begins after a publish that followed the first read
  // (the second publish counted after it): keyward parks the first snapshot a thread's cache
  // replaces during a read, and the parking list's first growth is a one-time allocation per
  // thread, not a cost of each read.
  for (const int seen = Shared<Design>::publishes.load(); Shared<Design>::writer.joinable();) {
    const bool after_publish = Shared<Design>::publishes.load() >= seen + 2;
    design.read(header);
    if (after_publish) break;
  }
  const auto before = thread_allocations();
  for (auto _ : state) design.read(header);
  count_allocations(state, before);
}

template <class Design>
void register_acquire(const char* name) {
  benchmark::RegisterBenchmark(name, acquire<Design>)
      ->Setup(setup<Design, false>)
      ->Teardown(teardown<Design>)
      ->Threads(1)
      ->Threads(2)
      ->Threads(4)
      ->UseRealTime();
  const std::string with_writer = std::string{name} + "_Writer";
  benchmark::RegisterBenchmark(with_writer.c_str(), acquire<Design>)
      ->Setup(setup<Design, true>)
      ->Teardown(teardown<Design>)
      ->Threads(1)
      ->Threads(2)
      ->Threads(4)
      ->UseRealTime();
}

// Pools of state.range(0) credentials, built once per run and shared by the run's threads.
template <class Design>
struct Pool {
  static inline std::vector<std::unique_ptr<Design>> designs;
};

template <class Design>
void setup_pool(const benchmark::State& state) {
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    Pool<Design>::designs.push_back(std::make_unique<Design>());
  }
}

template <class Design>
void teardown_pool(const benchmark::State& /*state*/) {
  Pool<Design>::designs.clear();
}

// A pool handing requests to its credentials in turn: each read is of credential i % N. With N
// above what a thread's cache of snapshots holds, every read is of a credential read N reads ago.
template <class Design>
void acquire_in_turn(benchmark::State& state) {
  const auto& pool = Pool<Design>::designs;
  std::string header;
  header.reserve(kHeaderCapacity);
  for (const auto& design : pool) design->read(header);
  std::size_t i = 0;
  const auto before = thread_allocations();
  for (auto _ : state) {
    pool[i]->read(header);
    if (++i == pool.size()) i = 0;
  }
  count_allocations(state, before);
}

template <class Design>
void register_in_turn(const char* name) {
  benchmark::RegisterBenchmark(name, acquire_in_turn<Design>)
      ->Setup(setup_pool<Design>)
      ->Teardown(teardown_pool<Design>)
      ->Arg(1)
      ->Arg(16)
      ->Arg(17)
      ->Arg(128)
      ->Arg(1000)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
}

// Choosing a credential among N: all but the last are cooling, so every choice scans all N
// snapshots before it attaches the last one. This is the read side any pool will do.
struct CoolingTransport {
  TransportResult send(const Request& /*request*/) const {
    return Response{.status = 429, .headers = {{"retry-after", "3600"}}, .body = {}};
  }
};

using CoolingCredential = ResilientCredential<CoolingTransport>;

std::vector<std::unique_ptr<CoolingCredential>> g_cooling;

void setup_cooling(const benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (std::size_t i = 0; i < n; ++i) {
    g_cooling.push_back(
        std::make_unique<CoolingCredential>(CoolingTransport{}, Credential::api_key(token_for(i))));
    if (i + 1 < n) {
      static_cast<void>(
          g_cooling.back()->send({.method = "GET", .url = "https://api.example.com/"}));
    }
  }
}

void teardown_cooling(const benchmark::State& /*state*/) { g_cooling.clear(); }

void BM_Select_ScanToReady(benchmark::State& state) {
  std::string header;
  header.reserve(kHeaderCapacity);
  const auto choose = [&header] {
    for (const auto& c : g_cooling) {
      const bool ready = c->with_current([&header](const auto& current) {
        if (current.state != CredentialState::ready) return false;
        use(header, current.token, current.state);
        return true;
      });
      if (ready) break;
    }
  };
  choose();
  const auto before = thread_allocations();
  for (auto _ : state) choose();
  count_allocations(state, before);
}

const bool registered = [] {
  register_acquire<FloorDesign>("BM_Acquire_Floor");
  register_acquire<KeywardDesign>("BM_Acquire_Keyward");
  register_acquire<MutexDesign>("BM_Acquire_Mutex");
  register_acquire<SharedMutexDesign>("BM_Acquire_SharedMutex");
  register_acquire<AtomicSharedPtrDesign>("BM_Acquire_AtomicSharedPtr");
  register_in_turn<KeywardDesign>("BM_Acquire_InTurn");
  register_in_turn<FloorDesign>("BM_Acquire_InTurnFloor");
  benchmark::RegisterBenchmark("BM_Select_ScanToReady", BM_Select_ScanToReady)
      ->Setup(setup_cooling)
      ->Teardown(teardown_cooling)
      ->Arg(1)
      ->Arg(16)
      ->Arg(17)
      ->Arg(128)
      ->Arg(1000)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  return true;
}();

}  // namespace
}  // namespace keyward::bench
