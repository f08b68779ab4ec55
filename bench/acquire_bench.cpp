// The hot path: reading the current token and state, ready to attach, by keyward and by the
// designs users would otherwise pick; at 1, 2 and 4 threads, with and without a writer thread
// publishing a new credential every millisecond. Also scanning N credentials for a ready one.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "alloc_counter.hpp"
#include "designs.hpp"

namespace keyward::bench {
namespace {

template <class Design>
struct Shared {
  static inline std::unique_ptr<Design> design;
  static inline std::thread writer;
  static inline std::atomic<bool> stop{false};
};

template <class Design, bool kWriter>
void setup(const benchmark::State& /*state*/) {
  Shared<Design>::design = std::make_unique<Design>();
  Shared<Design>::stop = false;
  if constexpr (kWriter) {
    Shared<Design>::writer = std::thread([] {
      while (!Shared<Design>::stop.load()) {
        Shared<Design>::design->publish();
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
  design.read();  // the first read of a thread fills its cache
  const auto before = thread_allocations();
  for (auto _ : state) design.read();
  state.counters["allocs"] = benchmark::Counter(static_cast<double>(thread_allocations() - before),
                                                benchmark::Counter::kAvgIterations);
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

// Choosing a credential among N: all but the last are cooling, so every read scans all N
// snapshots. keyward's pools are not built yet; this is the read side any pool will do.
struct CoolingTransport {
  TransportResult send(const Request& /*request*/) const {
    return Response{.status = 429, .headers = {{"retry-after", "3600"}}, .body = {}};
  }
};

void BM_Select_ScanToReady(benchmark::State& state) {
  using Credentialed = ResilientCredential<CoolingTransport>;
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<std::unique_ptr<Credentialed>> pool;
  for (std::size_t i = 0; i < n; ++i) {
    pool.push_back(
        std::make_unique<Credentialed>(CoolingTransport{}, Credential::api_key(token_for(i))));
    if (i + 1 < n) {
      static_cast<void>(pool.back()->send({.method = "GET", .url = "https://api.example.com/"}));
    }
  }
  for (const auto& c : pool) c->with_current([](const auto& /*current*/) {});
  const auto before = thread_allocations();
  for (auto _ : state) {
    for (const auto& c : pool) {
      const bool ready = c->with_current([](const auto& current) {
        if (current.state != CredentialState::ready) return false;
        use(current.credential.token.reveal(), current.state);
        return true;
      });
      if (ready) break;
    }
  }
  state.counters["allocs"] = benchmark::Counter(static_cast<double>(thread_allocations() - before),
                                                benchmark::Counter::kAvgIterations);
}

const bool registered = [] {
  register_acquire<FloorDesign>("BM_Acquire_Floor");
  register_acquire<KeywardDesign>("BM_Acquire_Keyward");
  register_acquire<MutexDesign>("BM_Acquire_Mutex");
  register_acquire<SharedMutexDesign>("BM_Acquire_SharedMutex");
  register_acquire<AtomicSharedPtrDesign>("BM_Acquire_AtomicSharedPtr");
  benchmark::RegisterBenchmark("BM_Select_ScanToReady", BM_Select_ScanToReady)
      ->Arg(1)
      ->Arg(4)
      ->Arg(16);
  return true;
}();

}  // namespace
}  // namespace keyward::bench
