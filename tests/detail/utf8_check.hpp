// A UTF-8 validator for tests, written apart from keyward/detail/utf8.hpp so that a mistake in
// the library's decoder cannot hide in the check that tests it.
#pragma once

#include <cstddef>
#include <string_view>

namespace keyward::test {

/// True when `text` is well-formed UTF-8: each code point in its shortest form, no surrogates,
/// nothing past U+10FFFF.
inline bool well_formed_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t size = 0;
    char32_t code = 0;
    if (lead < 0x80) {
      size = 1;
      code = lead;
    } else if ((lead & 0xE0U) == 0xC0U) {
      size = 2;
      code = lead & 0x1FU;
    } else if ((lead & 0xF0U) == 0xE0U) {
      size = 3;
      code = lead & 0x0FU;
    } else if ((lead & 0xF8U) == 0xF0U) {
      size = 4;
      code = lead & 0x07U;
    } else {
      return false;
    }
    if (text.size() - i < size) return false;
    for (std::size_t k = 1; k < size; ++k) {
      const auto byte = static_cast<unsigned char>(text[i + k]);
      if ((byte & 0xC0U) != 0x80U) return false;
      code = (code << 6U) | (byte & 0x3FU);
    }
    constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[size] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += size;
  }
  return true;
}

}  // namespace keyward::test
