// Definitions for keyward/detail/origin_cache.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstring>
#include <string_view>

#include "keyward/detail/origin_cache.hpp"

namespace keyward::detail {

// Keeps the scheme and authority of an approved URL, the first time only.
KEYWARD_DECL void OriginCache::remember(std::string_view url) noexcept {
  const std::size_t authority = url.find("://");
  if (authority == std::string_view::npos) return;
  std::size_t end = authority + 3;
  while (end < url.size() && !ends_origin(url[end])) ++end;
  if (end > kMaxOrigin || claimed_.exchange(true, std::memory_order_relaxed)) return;
  std::memcpy(origin_.data(), url.data(), end);
  size_.store(end, std::memory_order_release);
}

}  // namespace keyward::detail
