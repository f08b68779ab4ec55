// OriginCache: url_allows_credentials() once per origin instead of once per send.
//
// A credential is sent to the same few origins over and over. The cache remembers the first
// origin it approved (the URL's scheme and authority, as written) and approves a later URL that
// starts with exactly those bytes followed by the end, '/', '?' or '#', which is the same origin;
// anything else takes the full check. Written once, then read lock-free: the bytes are published
// by a release store of their length.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <string_view>

#include "keyward/detail/config.hpp"
#include "keyward/detail/url.hpp"

namespace keyward::detail {

/// Remembers one approved origin for url_allows_credentials().
class OriginCache {
 public:
  /// A cache for one policy on plain HTTP to hosts other than loopback.
  explicit OriginCache(bool allow_insecure_http) noexcept : insecure_(allow_insecure_http) {}

  /// url_allows_credentials(url, allow_insecure_http), answered from the cache when it can be.
  [[nodiscard]] bool allows(std::string_view url) noexcept {
    const std::size_t n = size_.load(std::memory_order_acquire);
    if (n != 0 && url.size() >= n && std::memcmp(url.data(), origin_.data(), n) == 0 &&
        (url.size() == n || ends_origin(url[n]))) {
      return true;
    }
    if (!url_allows_credentials(url, insecure_)) return false;
    remember(url);
    return true;
  }

 private:
  static constexpr std::size_t kMaxOrigin = 120;

  static constexpr bool ends_origin(char c) noexcept { return c == '/' || c == '?' || c == '#'; }

  // Keeps the scheme and authority of an approved URL, the first time only.
  KEYWARD_DECL void remember(std::string_view url) noexcept;

  const bool insecure_;
  std::atomic<std::size_t> size_{0};
  std::atomic<bool> claimed_{false};
  std::array<char, kMaxOrigin> origin_{};
};

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/origin_cache.ipp"
#endif
