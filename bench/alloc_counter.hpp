// Counts heap allocations per thread, through replacements of the global operator new that
// alloc_counter.cpp defines. Benchmarks read the counter before and after their loop.
#pragma once

#include <cstdint>

namespace keyward::bench {

/// How many times this thread has called operator new so far.
std::uint64_t thread_allocations() noexcept;

}  // namespace keyward::bench
