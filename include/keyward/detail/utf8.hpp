// Reading UTF-8 one character at a time, the way every repairing reader in keyward does: a
// well-formed sequence (Unicode table 3-7) is taken whole, and an ill-formed one is replaced by
// one U+FFFD per maximal subpart (Unicode section 3.9, "U+FFFD substitution of maximal
// subparts"), the practice WHATWG's decoder and most libraries follow.
#pragma once

#include <cstddef>
#include <string_view>

namespace keyward::detail {

/// U+FFFD REPLACEMENT CHARACTER in UTF-8.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

/// The first character of some text: how many bytes it spans and whether they are well formed.
struct Utf8Step {
  std::size_t size = 0;  ///< Bytes to consume: the sequence, or its maximal ill-formed subpart.
  bool valid = false;    ///< True for a well-formed sequence, false for one U+FFFD's worth.
};

// The length a lead byte announces and the range its second byte must fall in (RFC 3629
// section 4), or a size of 0 for a byte that never leads.
struct Utf8Lead {
  std::size_t size = 0;
  unsigned low = 0x80;
  unsigned high = 0xBF;
};

[[nodiscard]] constexpr Utf8Lead utf8_lead(unsigned char lead) noexcept {
  if (lead >= 0xC2 && lead <= 0xDF) return {2, 0x80, 0xBF};
  if (lead == 0xE0) return {3, 0xA0, 0xBF};  // overlong forms
  if (lead == 0xED) return {3, 0x80, 0x9F};  // UTF-16 surrogates
  if (lead >= 0xE1 && lead <= 0xEF) return {3, 0x80, 0xBF};
  if (lead == 0xF0) return {4, 0x90, 0xBF};  // overlong forms
  if (lead == 0xF4) return {4, 0x80, 0x8F};  // beyond U+10FFFF
  if (lead >= 0xF1 && lead <= 0xF3) return {4, 0x80, 0xBF};
  return {};  // a continuation byte, C0, C1 or F5..FF
}

/// Reads the character at the start of non-empty `text`.
[[nodiscard]] constexpr Utf8Step next_utf8(std::string_view text) noexcept {
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) return {1, true};
  const Utf8Lead expected = utf8_lead(lead);
  if (expected.size == 0) return {1, false};
  for (std::size_t i = 1; i < expected.size; ++i) {
    if (i >= text.size()) return {i, false};
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < (i == 1 ? expected.low : 0x80U) || byte > (i == 1 ? expected.high : 0xBFU)) {
      return {i, false};
    }
  }
  return {expected.size, true};
}

/// True when `text` is well-formed UTF-8.
[[nodiscard]] constexpr bool is_valid_utf8(std::string_view text) noexcept {
  while (!text.empty()) {
    const Utf8Step step = next_utf8(text);
    if (!step.valid) return false;
    text.remove_prefix(step.size);
  }
  return true;
}

}  // namespace keyward::detail
