// Making text from outside keyward safe to keep and show: secrets the caller knows are replaced by
// "[redacted]", invalid UTF-8 and control characters are repaired, and long text is cut. Provider
// messages, error descriptions, transport failures and request ids all pass through here before
// they reach a Verdict, a status report or an observer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keyward::detail {

namespace scrub_impl {

inline constexpr std::string_view kRedacted = "[redacted]";
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD
inline constexpr std::string_view kEllipsis = "\xE2\x80\xA6";              // U+2026
// Shorter strings are not real secrets, and replacing them would mangle ordinary words.
inline constexpr std::size_t kMinSecretSize = 8;

// Appends the [begin, end) ranges where `pattern` occurs in `text`, overlapping occurrences
// merged. Knuth-Morris-Pratt rather than repeated find(): the text comes from outside, and
// periodic patterns such as "aaaaaaab" would make a find() loop quadratic.
inline void find_occurrences(std::string_view text, std::string_view pattern,
                             std::vector<std::pair<std::size_t, std::size_t>>& ranges) {
  std::vector<std::size_t> border(pattern.size(), 0);
  for (std::size_t i = 1, k = 0; i < pattern.size(); ++i) {
    while (k > 0 && pattern[i] != pattern[k]) k = border[k - 1];
    if (pattern[i] == pattern[k]) ++k;
    border[i] = k;
  }
  for (std::size_t i = 0, k = 0; i < text.size(); ++i) {
    while (k > 0 && text[i] != pattern[k]) k = border[k - 1];
    if (text[i] == pattern[k]) ++k;
    if (k == pattern.size()) {
      const std::size_t begin = i + 1 - k;
      if (!ranges.empty() && ranges.back().second > begin) {
        ranges.back().second = i + 1;
      } else {
        ranges.emplace_back(begin, i + 1);
      }
      k = border[k - 1];
    }
  }
}

// Length of the well-formed UTF-8 sequence at the start of `text` (Unicode table 3-7), or 0 when
// it is ill-formed; `maximal` receives the length of its maximal ill-formed subpart, which is
// what one U+FFFD replaces (so "\xE2\x82" followed by "A" costs one U+FFFD, not two).
inline std::size_t utf8_sequence_size(std::string_view text, std::size_t& maximal) {
  const auto lead = static_cast<unsigned char>(text[0]);
  maximal = 1;
  if (lead < 0x80) return 1;
  std::size_t size = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    size = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    size = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    size = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  for (std::size_t i = 1; i < size; ++i) {
    if (i >= text.size()) return 0;
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < (i == 1 ? low : 0x80) || byte > (i == 1 ? high : 0xBF)) return 0;
    maximal = i + 1;
  }
  return size;
}

}  // namespace scrub_impl

/// Replaces every occurrence of each secret of 8 bytes or more in `text` with "[redacted]".
[[nodiscard]] inline std::string scrub_secrets(std::string_view text,
                                               std::span<const std::string_view> secrets) {
  // Ranges are collected on the original text and merged, so overlapping occurrences of
  // different secrets (one a prefix of another, say) all disappear whatever their order.
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  for (const std::string_view secret : secrets) {
    if (secret.size() < scrub_impl::kMinSecretSize || secret.size() > text.size()) continue;
    std::vector<std::pair<std::size_t, std::size_t>> found;
    scrub_impl::find_occurrences(text, secret, found);
    ranges.insert(ranges.end(), found.begin(), found.end());
  }
  if (ranges.empty()) return std::string{text};
  std::sort(ranges.begin(), ranges.end());
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0;
  for (std::size_t i = 0; i < ranges.size();) {
    const std::size_t begin = ranges[i].first;
    std::size_t end = ranges[i].second;
    for (++i; i < ranges.size() && ranges[i].first < end; ++i)
      end = std::max(end, ranges[i].second);
    out.append(text.substr(copied, begin - copied));
    out.append(scrub_impl::kRedacted);
    copied = end;
  }
  out.append(text.substr(copied));
  return out;
}

/// Repairs outside text into one line of valid UTF-8 of at most `max_bytes` plus an ellipsis.
[[nodiscard]] inline std::string clean_outside_text(std::string_view text,
                                                    std::size_t max_bytes = 1024) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + scrub_impl::kEllipsis.size());
  for (std::size_t i = 0; i < text.size();) {
    std::size_t maximal = 0;
    const std::size_t size = scrub_impl::utf8_sequence_size(text.substr(i), maximal);
    const std::size_t out_size = size == 0 ? scrub_impl::kReplacementCharacter.size() : size;
    if (out.size() + out_size > max_bytes) {
      out.append(scrub_impl::kEllipsis);
      return out;
    }
    if (size == 0) {
      out.append(scrub_impl::kReplacementCharacter);
      i += maximal;
      continue;
    }
    const char c = text[i];
    // These texts are shown on one line: a CR or LF could forge a log line, ESC a terminal code.
    if (size == 1 && (static_cast<unsigned char>(c) < 0x20 || c == '\x7F')) {
      out.push_back(' ');
    } else {
      out.append(text.substr(i, size));
    }
    i += size;
  }
  return out;
}

/// Scrubs `secrets` from outside text, then cleans and cuts it like clean_outside_text.
[[nodiscard]] inline std::string clean_and_scrub(std::string_view text,
                                                 std::span<const std::string_view> secrets,
                                                 std::size_t max_bytes = 1024) {
  // Scrubbing the whole text before cutting removes a secret that straddles the cut. The second
  // scrub catches a secret that only appears once cleaning turned a tab into its space.
  const std::string cleaned =
      clean_outside_text(scrub_secrets(text, secrets), std::numeric_limits<std::size_t>::max());
  return clean_outside_text(scrub_secrets(cleaned, secrets), max_bytes);
}

}  // namespace keyward::detail
