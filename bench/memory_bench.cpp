// keyward_memory: the heap a credential and a reading thread cost, at 10, 1,000 and 10,000
// credentials. Measured with a counting allocator: this program replaces the global operator
// new and delete and keeps the live total of malloc_usable_size() over every block they hand
// out, so each figure is bytes of heap in use (the allocator's rounding included, its per-block
// header not). Thread stacks and static TLS are not heap and are not counted.
//
//   keyward_memory        prints one table; it checks nothing (bench/RESULTS.md has the figures)
#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "designs.hpp"

namespace {

std::atomic<std::int64_t> live_bytes{0};

void* counted_new(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc{};
  live_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}

void counted_delete(void* p) noexcept {
  if (p == nullptr) return;
  live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}

}  // namespace

void* operator new(std::size_t size) { return counted_new(size); }
void* operator new[](std::size_t size) { return counted_new(size); }
void operator delete(void* p) noexcept { counted_delete(p); }
void operator delete[](void* p) noexcept { counted_delete(p); }
void operator delete(void* p, std::size_t /*size*/) noexcept { counted_delete(p); }
void operator delete[](void* p, std::size_t /*size*/) noexcept { counted_delete(p); }

namespace keyward::bench {
namespace {

using Credential_ = ResilientCredential<NullTransport>;

std::int64_t live() { return live_bytes.load(std::memory_order_relaxed); }

void read(const Credential_& credential) {
  std::string header;
  credential.with_current(
      [&header](const auto& current) { use(header, current.token, current.state); });
}

// Heap that `readers` threads hold while each sits idle after reading `count` of `credentials`
// (the last ones), measured before they exit.
std::int64_t held_by_readers(const std::vector<std::unique_ptr<Credential_>>& credentials,
                             std::size_t count, int readers) {
  const std::int64_t before = live();
  std::latch have_read{readers + 1};
  std::latch measured{1};
  std::vector<std::thread> threads;
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&] {
      for (std::size_t i = credentials.size() - count; i < credentials.size(); ++i) {
        read(*credentials[i]);
      }
      have_read.arrive_and_wait();
      measured.wait();
    });
  }
  have_read.arrive_and_wait();
  const std::int64_t held = live() - before;
  measured.count_down();
  for (auto& thread : threads) thread.join();
  return held;
}

void run(std::size_t n) {
  const std::int64_t start = live();
  std::int64_t per_credential = 0;
  std::int64_t reads_all = 0;
  std::int64_t reads_one = 0;
  std::int64_t idle_held = 0;
  {
    std::vector<std::unique_ptr<Credential_>> credentials;
    credentials.reserve(n);
    const std::int64_t reserved = live();
    for (std::size_t i = 0; i < n; ++i) {
      credentials.push_back(
          std::make_unique<Credential_>(NullTransport{}, Credential::api_key(token_for(i))));
    }
    per_credential = (live() - reserved) / static_cast<std::int64_t>(n);
    reads_all = held_by_readers(credentials, n, 1);
    reads_one = held_by_readers(credentials, 1, 1);

    // Eight readers read every credential and sit idle; every credential is replaced meanwhile.
    // What they hold then is their tables and whatever replaced snapshots they keep alive: the
    // heap that goes when they exit.
    constexpr int kReaders = 8;
    std::latch have_read{kReaders + 1};
    std::latch replaced{1};
    std::vector<std::thread> threads;
    for (int r = 0; r < kReaders; ++r) {
      threads.emplace_back([&] {
        for (const auto& credential : credentials) read(*credential);
        have_read.arrive_and_wait();
        replaced.wait();
      });
    }
    have_read.arrive_and_wait();
    for (std::size_t i = 0; i < n; ++i) {
      static_cast<void>(credentials[i]->set_credential(Credential::api_key(token_for(n + i))));
    }
    const std::int64_t with_readers = live();
    replaced.count_down();
    for (auto& thread : threads) thread.join();
    idle_held = with_readers - live();
  }
  const std::int64_t snapshots = idle_held - 8 * reads_all;
  std::printf("| %zu | %lld | %lld | %.1f | %lld | %lld | %lld | %lld |\n", n,
              static_cast<long long>(per_credential), static_cast<long long>(reads_all),
              static_cast<double>(reads_all) / static_cast<double>(n),
              static_cast<long long>(reads_one), static_cast<long long>(idle_held),
              static_cast<long long>(snapshots), static_cast<long long>(live() - start));
}

}  // namespace
}  // namespace keyward::bench

int main() {
  std::printf(
      "Heap in use, bytes (counting allocator: live malloc_usable_size of operator new's "
      "blocks)\n\n");
  std::printf(
      "| credentials | per credential | a thread reading all | per credential it reads | a "
      "thread reading one | 8 idle readers after all were replaced | of which replaced "
      "snapshots (less 8 tables) | left after freeing all |\n|---|---|---|---|---|---|---|---|\n");
  for (const std::size_t n : {std::size_t{10}, std::size_t{1'000}, std::size_t{10'000}}) {
    keyward::bench::run(n);
  }
  std::printf("\nsizeof(detail::SessionPins): %zu bytes (a pool's sticky-session table)\n",
              sizeof(keyward::detail::SessionPins));
  return 0;
}
