// What an asynchronous send allocates (docs/async.md): the operation's own memory comes from its
// completion handler's associated allocator, freed before the handler runs; beyond it and the
// transport's, a send allocates nothing from the global heap once the loop's thread is warm.
//
// This file replaces the global operator new and delete (malloc and free underneath, counting
// per thread), for its whole executable: the count is what the assertions read. It is built
// alone (keyward_alloc_tests, tests/CMakeLists.txt), not into keyward_tests.
#include <gtest/gtest.h>

#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <utility>

#include "keyward/async.hpp"
#include "keyward/resilient_credential.hpp"

namespace {
thread_local std::uint64_t t_global_news = 0;

void* counted(std::size_t size) {
  ++t_global_news;
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc{};
  return p;
}
void* counted_aligned(std::size_t size, std::align_val_t align) {
  ++t_global_news;
  const auto a = static_cast<std::size_t>(align);
  void* p = std::aligned_alloc(a, size == 0 ? a : (size + a - 1) / a * a);
  if (p == nullptr) throw std::bad_alloc{};
  return p;
}
}  // namespace

// Every form is replaced, so that a sanitizer never sees one allocator's memory freed by another.
void* operator new(std::size_t size) { return counted(size); }
void* operator new[](std::size_t size) { return counted(size); }
void* operator new(std::size_t size, std::align_val_t align) {
  return counted_aligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return counted_aligned(size, align);
}
void* operator new(std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
  ++t_global_news;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
  ++t_global_news;
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*size*/) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t /*size*/) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t /*align*/) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t /*align*/) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*size*/, std::align_val_t /*align*/) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t /*size*/, std::align_val_t /*align*/) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t& /*tag*/) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t& /*tag*/) noexcept { std::free(p); }

namespace keyward::testing {
namespace {

/// What a handler's allocator did.
struct Counts {
  std::uint64_t allocations = 0;
  std::uint64_t deallocations = 0;
};

/// A handler's allocator that counts, and takes its memory from malloc (a recycling allocator
/// would take it from its cache): none of it is a global operator new.
template <class T>
struct CountingAllocator {
  using value_type = T;
  Counts* counts;
  explicit CountingAllocator(Counts* c) noexcept : counts(c) {}
  template <class U>
  CountingAllocator(const CountingAllocator<U>& other) noexcept  // NOLINT: rebinding converts
      : counts(other.counts) {}
  T* allocate(std::size_t n) {
    ++counts->allocations;
    void* p = std::aligned_alloc(
        alignof(std::max_align_t) > alignof(T) ? alignof(std::max_align_t) : alignof(T),
        (n * sizeof(T) + 63) / 64 * 64);
    if (p == nullptr) throw std::bad_alloc{};
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t /*n*/) noexcept {
    ++counts->deallocations;
    std::free(p);
  }
  template <class U>
  bool operator==(const CountingAllocator<U>& other) const noexcept {
    return counts == other.counts;
  }
};

/// A completion handler carrying a CountingAllocator; it records what the handler's allocator
/// had done and how many global operator new calls its thread made since `before`, when it ran.
struct CountedHandler {
  using allocator_type = CountingAllocator<void>;
  Counts* counts;
  std::optional<Result<Response>>* got;
  Counts* at_completion;
  std::uint64_t* news;
  std::uint64_t before = 0;
  [[nodiscard]] allocator_type get_allocator() const noexcept { return allocator_type{counts}; }
  void operator()(std::exception_ptr thrown, Result<Response> answer) const {
    *news = t_global_news - before;
    EXPECT_FALSE(thrown);
    *at_completion = *counts;
    *got = std::move(answer);
  }
};

/// An AsyncTransport that allocates nothing: a 200 with no headers and no body, posted to the
/// handler's executor (never inside async_send()). Its synchronous send() answers the same.
class QuietTransport {
 public:
  explicit QuietTransport(asio::any_io_executor executor) : executor_(std::move(executor)) {}
  [[nodiscard]] TransportResult send(const Request& /*request*/) const {
    return Response{.status = 200};
  }
  template <class Handler>
  void async_send(const Request& /*request*/, Handler&& handler) const {
    asio::post(executor_, [h = std::forward<Handler>(handler)]() mutable {
      std::move(h)(TransportResult{Response{.status = 200}});
    });
  }

 private:
  asio::any_io_executor executor_;
};
static_assert(AsyncTransport<QuietTransport>);

/// One credential over a QuietTransport on `io`, and sends started on the loop's own thread.
struct QuietSetup {
  asio::io_context io;
  ResilientCredential<QuietTransport> credential{
      QuietTransport{io.get_executor()},
      Credential::api_key("sk-ant-api03-" + std::string(64, 'q') + "-async")};
  AsyncCredential<QuietTransport> api{credential, io.get_executor(), 1};

  static Request post() {
    return Request{.method = "POST", .url = "https://api.example.test/v1/messages", .body = "{}"};
  }
  // One send with `handler`, started from the loop's thread (as a server's sends are) and run
  // to the end.
  void send(CountedHandler handler) {
    asio::post(io, [this, handler]() mutable {
      Request request = post();
      handler.before = t_global_news;
      api.async_send(std::move(request), handler);
    });
    io.restart();
    io.run();
  }
};

TEST(AsyncAllocTest, TheOperationAllocatesThroughTheHandlersAllocatorAndFreesBeforeItRuns) {
  QuietSetup setup;
  Counts counts;
  Counts at_completion;
  std::optional<Result<Response>> got;
  std::uint64_t news = 0;
  const CountedHandler handler{&counts, &got, &at_completion, &news};
  // Warm: the loop thread's caches (asio recycles its own operations' memory per thread) and
  // what the credential makes once.
  for (int i = 0; i < 3; ++i) setup.send(handler);
  counts = {};
  got.reset();

  setup.send(handler);

  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(*got) << got->error().message;
  EXPECT_EQ((*got)->status, 200);
  EXPECT_EQ(news, 0U) << "global operator new calls in one send, beyond the handler's allocator";
  EXPECT_GE(counts.allocations, 1U) << "the operation's state comes from the handler's allocator";
  EXPECT_EQ(at_completion.allocations, at_completion.deallocations)
      << "the operation's memory is freed before its handler runs";
}

}  // namespace
}  // namespace keyward::testing
