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

#include "keyward/detail/text.hpp"
#include "keyward/detail/utf8.hpp"

namespace keyward::detail {

namespace scrub_impl {

inline constexpr std::string_view kRedacted = "[redacted]";
inline constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026
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

// `secret` and the forms keyward itself writes it in: form-encoded (a token request body, the
// parts of a Basic pair) and inside a JSON string literal (quotes dropped).
inline std::vector<std::string> written_forms(std::string_view secret) {
  std::vector<std::string> forms{std::string{secret}};
  std::string form;
  append_form_encoded(form, secret);
  if (form != secret) forms.push_back(std::move(form));
  std::string json;
  append_json_string(json, secret);
  json = json.substr(1, json.size() - 2);
  if (json != secret) forms.push_back(std::move(json));
  return forms;
}

// Whether the valid UTF-8 sequence `c` is a C1 control (U+0080 to U+009F) or a bidirectional
// formatting character (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069): shown, these
// reorder or hide the text around them as a C0 control can.
inline bool is_hidden_control(std::string_view c) {
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(c[i]); };
  if (c.size() == 2) return (at(0) == 0xC2 && at(1) <= 0x9F) || (at(0) == 0xD8 && at(1) == 0x9C);
  if (c.size() != 3 || at(0) != 0xE2) return false;
  if (at(1) == 0x80) return at(2) == 0x8E || at(2) == 0x8F || (at(2) >= 0xAA && at(2) <= 0xAE);
  return at(1) == 0x81 && at(2) >= 0xA6 && at(2) <= 0xA9;
}

}  // namespace scrub_impl

/// Replaces every occurrence of each secret of 8 bytes or more in `text` with "[redacted]", and
/// a trailing first part (8 bytes or more) of one, left where the text was cut. Each secret is
/// also looked for in the forms keyward writes it in: form-encoded and JSON-escaped.
[[nodiscard]] inline std::string scrub_secrets(std::string_view text,
                                               std::span<const std::string_view> given) {
  std::vector<std::string> forms;
  for (const std::string_view secret : given) {
    if (secret.size() < scrub_impl::kMinSecretSize) continue;
    for (std::string& form : scrub_impl::written_forms(secret)) forms.push_back(std::move(form));
  }
  const std::vector<std::string_view> secrets(forms.begin(), forms.end());
  // Ranges are collected on the original text and merged, so overlapping occurrences of
  // different secrets (one a prefix of another, say) all disappear whatever their order.
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  for (const std::string_view secret : secrets) {
    if (secret.size() < scrub_impl::kMinSecretSize || secret.size() > text.size()) continue;
    std::vector<std::pair<std::size_t, std::size_t>> found;
    scrub_impl::find_occurrences(text, secret, found);
    ranges.insert(ranges.end(), found.begin(), found.end());
  }
  // A text cut short elsewhere (a classifier caps messages) may end in the first part of a
  // secret: that part goes too.
  for (const std::string_view secret : secrets) {
    if (secret.size() <= scrub_impl::kMinSecretSize) continue;
    for (std::size_t k = std::min(secret.size() - 1, text.size()); k >= scrub_impl::kMinSecretSize;
         --k) {
      if (text.ends_with(secret.substr(0, k))) {
        ranges.emplace_back(text.size() - k, text.size());
        break;
      }
    }
  }
  if (ranges.empty()) return std::string{text};
  std::sort(ranges.begin(), ranges.end());
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0;
  for (std::size_t i = 0; i < ranges.size();) {
    const std::size_t begin = ranges[i].first;
    std::size_t end = ranges[i].second;
    for (++i; i < ranges.size() && ranges[i].first < end; ++i) {
      end = std::max(end, ranges[i].second);
    }
    out.append(text.substr(copied, begin - copied));
    out.append(scrub_impl::kRedacted);
    copied = end;
  }
  out.append(text.substr(copied));
  return out;
}

/// Repairs outside text into one line of valid UTF-8, C0 and C1 controls, DEL and bidirectional
/// formatting characters replaced by spaces, of at most `max_bytes` plus an ellipsis.
[[nodiscard]] inline std::string clean_outside_text(std::string_view text,
                                                    std::size_t max_bytes = 1024) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + scrub_impl::kEllipsis.size());
  for (std::size_t i = 0; i < text.size();) {
    const Utf8Step step = next_utf8(text.substr(i));
    const std::size_t out_size = step.valid ? step.size : kReplacementCharacter.size();
    if (out.size() + out_size > max_bytes) {
      out.append(scrub_impl::kEllipsis);
      return out;
    }
    const char c = text[i];
    if (!step.valid) {
      out.append(kReplacementCharacter);
    } else if ((step.size == 1 && (static_cast<unsigned char>(c) < 0x20 || c == '\x7F')) ||
               scrub_impl::is_hidden_control(text.substr(i, step.size))) {
      // These texts are shown on one line: a CR or LF could forge a log line, ESC or a C1 CSI a
      // terminal code, a bidi override make a message read differently than it is.
      out.push_back(' ');
    } else {
      out.append(text.substr(i, step.size));
    }
    i += step.size;
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
