// Whether a text still holds a piece of a secret: any run of `run` bytes or more of it, compared
// without regard to ASCII case and with ASCII whitespace dropped from both. The property
// detail::scrub_secrets promises (docs/http.md, "Scrubbing"), checked independently of it: a
// plain search of every window, no index.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace keyward::testing {

/// `text` lower-cased (ASCII) with ASCII whitespace removed.
inline std::string fold_case_and_space(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

/// The first run of `run` bytes of `secret` found in `text` (folded), or "" when none is.
inline std::string secret_run_in(std::string_view text, std::string_view secret,
                                 std::size_t run = 12) {
  const std::string t = fold_case_and_space(text);
  const std::string s = fold_case_and_space(secret);
  if (s.size() < run) return t.find(s) == std::string::npos || s.empty() ? "" : s;
  for (std::size_t i = 0; i + run <= s.size(); ++i) {
    if (t.find(s.substr(i, run)) != std::string::npos) return s.substr(i, run);
  }
  return {};
}

}  // namespace keyward::testing
