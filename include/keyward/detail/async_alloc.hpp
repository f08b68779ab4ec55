// What an asynchronous operation allocates (detail/async_send.hpp), it allocates through its
// completion handler's associated allocator (asio::get_associated_allocator), rebound to the
// type, as asio's own composed operations do, and frees before the handler runs: a caller whose
// handler carries a recycling allocator sees no global allocation from the operation itself
// (docs/async.md).
#pragma once

#include <asio/associated_allocator.hpp>
#include <memory>
#include <utility>

namespace keyward::detail {

/// Frees a T made by allocate_for() through the allocator that made it.
template <class T>
struct HandlerRelease {
  void (*free)(T*) noexcept = nullptr;  ///< The allocator's destroy and deallocate.
  /// Destroys and frees `p`.
  void operator()(T* p) const noexcept { free(p); }
};

/// A T allocated through a handler's allocator: it owns the object and frees it the same way.
template <class T>
using HandlerOwned = std::unique_ptr<T, HandlerRelease<T>>;

/// A T and the allocator that made it, in one block, owned through its base Base.
template <class T, class Base, class Alloc>
class AllocatedBy final : public T {
 public:
  using Traits = typename std::allocator_traits<Alloc>::template rebind_traits<AllocatedBy>;
  using Allocator = typename Traits::allocator_type;  ///< The allocator, rebound to the block.

  /// T made of `args`, keeping `alloc`.
  template <class... Args>
  explicit AllocatedBy(const Allocator& alloc, Args&&... args)
      : T(std::forward<Args>(args)...), alloc_(alloc) {}

  /// Destroys the block `base` is and frees it through its allocator.
  static void release(Base* base) noexcept {
    auto* block = static_cast<AllocatedBy*>(static_cast<T*>(base));
    Allocator alloc{block->alloc_};
    Traits::destroy(alloc, block);
    Traits::deallocate(alloc, block, 1);
  }

 private:
  [[no_unique_address]] Allocator alloc_;
};

/// A T made of `args` in memory from `handler`'s associated allocator, owned as a Base.
template <class T, class Base = T, class Handler, class... Args>
HandlerOwned<Base> allocate_for(const Handler& handler, Args&&... args) {
  using Block = AllocatedBy<T, Base, asio::associated_allocator_t<Handler>>;
  using Traits = typename Block::Traits;
  typename Block::Allocator alloc{asio::get_associated_allocator(handler)};
  Block* block = Traits::allocate(alloc, 1);
  try {
    Traits::construct(alloc, block, alloc, std::forward<Args>(args)...);
  } catch (...) {
    Traits::deallocate(alloc, block, 1);
    throw;
  }
  return HandlerOwned<Base>{block, HandlerRelease<Base>{&Block::release}};
}

/// `handler`'s associated allocator, rebound to T (for std::allocate_shared).
template <class T, class Handler>
auto allocator_for(const Handler& handler) {
  using Traits = typename std::allocator_traits<
      asio::associated_allocator_t<Handler>>::template rebind_traits<T>;
  return typename Traits::allocator_type{asio::get_associated_allocator(handler)};
}

}  // namespace keyward::detail
