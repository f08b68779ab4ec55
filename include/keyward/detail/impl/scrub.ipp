// Definitions for keyward/detail/scrub.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "keyward/detail/known_prefixes.hpp"
#include "keyward/detail/scrub.hpp"
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
// parts of a Basic pair), percent-encoded with a space as %20 (a URL), and inside a JSON string
// literal (quotes dropped).
inline std::vector<std::string> written_forms(std::string_view secret) {
  std::vector<std::string> forms{std::string{secret}};
  const auto add = [&](std::string form) {
    if (std::find(forms.begin(), forms.end(), form) == forms.end()) {
      forms.push_back(std::move(form));
    }
  };
  std::string form;
  append_form_encoded(form, secret);
  std::string url;
  for (const char c : form) url += c == '+' ? std::string_view{"%20"} : std::string_view{&c, 1};
  add(std::move(form));
  add(std::move(url));
  std::string json;
  append_json_string(json, secret);
  add(json.substr(1, json.size() - 2));
  return forms;
}

// Outside text may reshape a secret: change its ASCII case, wrap it across lines, insert
// spaces. Matching is done on a folded copy: ASCII letters lower-cased, ASCII whitespace
// dropped, with each folded byte's place in the original text.
inline bool is_ascii_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

inline char fold(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string folded(std::string_view text, std::vector<std::size_t>* places = nullptr) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (is_ascii_space(text[i])) continue;
    out.push_back(fold(text[i]));
    if (places != nullptr) places->push_back(i);
  }
  return out;
}

// Any run of this many bytes of a secret's form is redacted wherever it appears; a shorter
// secret is matched whole.
inline constexpr std::size_t kRunSize = 12;

// How many leading bytes of the folded `form` are a provider's published prefix ("sk-ant-api03-"):
// not secret, and shown in fingerprints, so a run lying inside it alone is not redacted.
inline std::size_t public_prefix_size(std::string_view form) {
  for (const KnownPrefix& known : kKnownPrefixes) {
    if (form.starts_with(folded(known.prefix))) return known.prefix.size();
  }
  return 0;
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

using Ranges = std::vector<std::pair<std::size_t, std::size_t>>;

// The folded forms of every secret of kMinSecretSize bytes or more.
inline std::vector<std::string> folded_forms(std::span<const std::string_view> given) {
  std::vector<std::string> forms;
  for (const std::string_view secret : given) {
    if (secret.size() < kMinSecretSize) continue;
    for (const std::string& form : written_forms(secret)) {
      std::string f = folded(form);
      if (f.size() >= kMinSecretSize) forms.push_back(std::move(f));
    }
  }
  return forms;
}

// Appends where a run of kRunSize bytes of a form (one lying inside its public prefix alone
// excepted) occurs in the folded `text`: every such window, overlapping ones merged, so that
// together they cover every longer run. A form shorter than that is looked for whole.
inline void find_runs(std::string_view text, const std::vector<std::string>& forms,
                      Ranges& ranges) {
  std::unordered_set<std::string_view> runs;
  for (const std::string& form : forms) {
    if (form.size() < kRunSize) {
      Ranges found;
      find_occurrences(text, form, found);
      ranges.insert(ranges.end(), found.begin(), found.end());
      continue;
    }
    const std::size_t shown = public_prefix_size(form);
    for (std::size_t i = shown < kRunSize ? 0 : shown - kRunSize + 1; i + kRunSize <= form.size();
         ++i) {
      runs.insert(std::string_view{form}.substr(i, kRunSize));
    }
  }
  if (runs.empty()) return;
  Ranges windows;
  for (std::size_t i = 0; i + kRunSize <= text.size(); ++i) {
    if (!runs.contains(text.substr(i, kRunSize))) continue;
    if (!windows.empty() && windows.back().second > i) {
      windows.back().second = i + kRunSize;
    } else {
      windows.emplace_back(i, i + kRunSize);
    }
  }
  ranges.insert(ranges.end(), windows.begin(), windows.end());
}

// A text cut short elsewhere (a classifier caps messages) may end in the first part of a
// secret: appends that part, of kMinSecretSize bytes or more (a longer one is a run).
inline void find_cut_first_part(std::string_view text, const std::vector<std::string>& forms,
                                Ranges& ranges) {
  for (const std::string_view form : forms) {
    const std::size_t shown = public_prefix_size(form);
    for (std::size_t k = std::min({form.size() - 1, text.size(), kRunSize - 1});
         k >= kMinSecretSize && k > shown; --k) {
      if (text.ends_with(form.substr(0, k))) {
        ranges.emplace_back(text.size() - k, text.size());
        break;
      }
    }
  }
}

// `text` with each of `ranges` (on its folded copy, whose bytes came from `places`) replaced by
// kRedacted, overlapping ranges merged.
inline std::string redact(std::string_view text, const std::vector<std::size_t>& places,
                          Ranges& ranges) {
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
    // Back to the original text: from the first folded byte to just after the last.
    out.append(text.substr(copied, places[begin] - copied));
    out.append(kRedacted);
    copied = places[end - 1] + 1;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace scrub_impl

KEYWARD_DECL std::string scrub_secrets(std::string_view text,
                                       std::span<const std::string_view> given) {
  const std::vector<std::string> forms = scrub_impl::folded_forms(given);
  if (forms.empty()) return std::string{text};
  std::vector<std::size_t> places;
  const std::string folded = scrub_impl::folded(text, &places);
  // Ranges on the folded text, from every form, merged when redacted: overlapping occurrences
  // of different secrets (one a prefix of another, say) all disappear whatever their order.
  scrub_impl::Ranges ranges;
  scrub_impl::find_runs(folded, forms, ranges);
  scrub_impl::find_cut_first_part(folded, forms, ranges);
  if (ranges.empty()) return std::string{text};
  return scrub_impl::redact(text, places, ranges);
}

KEYWARD_DECL std::string clean_outside_text(std::string_view text, std::size_t max_bytes) {
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

KEYWARD_DECL std::string clean_and_scrub(std::string_view text,
                                         std::span<const std::string_view> secrets,
                                         std::size_t max_bytes) {
  // Scrubbing the whole text before cutting removes a secret that straddles the cut. The second
  // scrub catches a secret that only appears once cleaning turned a tab into its space.
  const std::string cleaned =
      clean_outside_text(scrub_secrets(text, secrets), std::numeric_limits<std::size_t>::max());
  return clean_outside_text(scrub_secrets(cleaned, secrets), max_bytes);
}

}  // namespace keyward::detail
