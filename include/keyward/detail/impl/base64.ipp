// Definitions for keyward/detail/base64.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/detail/base64.hpp"

namespace keyward::detail {

namespace base64_internal {

/// Returns the 6-bit value of a base64url alphabet byte, or -1 for any other byte.
constexpr int base64url_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace base64_internal

KEYWARD_DECL std::optional<std::string> base64url_decode(std::string_view text) noexcept {
  // Padding only ever completes a final group of four, and is at most "==".
  std::size_t padding = 0;
  if (text.size() % 4 == 0) {
    while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
      ++padding;
    }
  }
  text.remove_suffix(padding);
  const std::size_t tail = text.size() % 4;
  // One leftover character carries 6 bits, not a whole byte; padding must fill exactly the tail.
  if (tail == 1 || (padding != 0 && padding != 4 - tail)) return std::nullopt;

  try {
    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    std::uint32_t bits = 0;
    unsigned count = 0;
    for (const char c : text) {
      const int value = base64_internal::base64url_value(c);
      if (value < 0) return std::nullopt;
      // Only the low 12 bits are ever read; masking keeps the accumulator from wrapping.
      bits = ((bits << 6U) | static_cast<std::uint32_t>(value)) & 0xFFFU;
      count += 6;
      if (count >= 8) {
        count -= 8;
        out.push_back(static_cast<char>((bits >> count) & 0xFFU));
      }
    }
    // The 2 or 4 bits left over after the last byte must be zero in a canonical encoding.
    if ((bits & ((1U << count) - 1U)) != 0) return std::nullopt;
    return out;
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
}

}  // namespace keyward::detail
