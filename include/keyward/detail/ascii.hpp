// ASCII-only character helpers shared by keyward's HTTP header parsers.
//
// HTTP field syntax (RFC 9110) is defined over octets, not over any locale, so these helpers
// deliberately avoid <cctype> and <locale>: their results never depend on the global C locale and
// they never see a negative `char` as an out-of-range `int`. Bytes >= 0x80 are never letters,
// digits, whitespace or token characters here.
#pragma once

#include <cstddef>
#include <string_view>

namespace keyward::detail {

/// True for the two whitespace bytes HTTP allows in OWS/BWS: SP and HTAB.
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

/// True for the ASCII digits '0'..'9'.
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// True for the ASCII letters 'A'..'Z' and 'a'..'z'.
constexpr bool is_alpha(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/// Lower-cases an ASCII upper-case letter and returns every other byte unchanged.
constexpr char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Compares two strings for equality, ignoring ASCII case only.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    // Equal bytes first: header names and media types mostly come in the case looked for.
    if (a[i] != b[i] && to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

/// Removes leading and trailing SP/HTAB (RFC 9110 OWS) from a field value.
constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

/// True for an RFC 9110 section 5.6.2 tchar, the alphabet of header tokens.
constexpr bool is_tchar(char c) noexcept {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace keyward::detail
