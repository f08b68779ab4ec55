// Definitions for keyward/detail/www_authenticate.hpp: included by it when header-only, compiled
// once by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/www_authenticate.hpp"

namespace keyward::detail {

namespace www_authenticate_internal {

/// True for bytes allowed in token68 before its trailing '=' padding.
constexpr bool is_token68_char(char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
         c == '/';
}

/// True for bytes a quoted-string may carry, raw or escaped: HTAB, SP, VCHAR and obs-text.
constexpr bool is_quotable(char c) noexcept {
  const auto byte = static_cast<unsigned char>(c);
  return c == '\t' || (byte >= 0x20 && byte != 0x7F);
}

/// Recursive-descent reader over one field value; methods return false on malformed input.
class ChallengeParser {
 public:
  /// Prepares to parse `text`, an entire field value.
  explicit ChallengeParser(std::string_view text) noexcept : text_(text) {}

  /// Parses every challenge in the value into `out`.
  bool parse_all(std::vector<Challenge>& out) {
    while (skip_empty_elements()) {
      Challenge challenge;
      if (!parse_challenge(challenge)) return false;
      out.push_back(std::move(challenge));
      skip_ows();
      if (!at_end() && !consume(',')) return false;
    }
    return true;
  }

 private:
  bool at_end() const noexcept { return pos_ >= text_.size(); }
  char peek() const noexcept { return text_[pos_]; }

  bool consume(char c) noexcept {
    if (at_end() || peek() != c) return false;
    ++pos_;
    return true;
  }

  /// Skips SP/HTAB and reports whether any were skipped.
  bool skip_ows() noexcept {
    const std::size_t start = pos_;
    while (!at_end() && is_ows(peek())) ++pos_;
    return pos_ != start;
  }

  /// Skips empty list elements (RFC 9110 section 5.6.1) and reports whether content remains.
  bool skip_empty_elements() noexcept {
    while (!at_end() && (is_ows(peek()) || peek() == ',')) ++pos_;
    return !at_end();
  }

  std::string_view token() noexcept {
    const std::size_t start = pos_;
    while (!at_end() && is_tchar(peek())) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  /// True if an auth-param (token BWS "=") starts at the current position; consumes nothing.
  bool at_auth_param() const noexcept {
    std::size_t i = pos_;
    while (i < text_.size() && is_tchar(text_[i])) ++i;
    if (i == pos_) return false;
    while (i < text_.size() && is_ows(text_[i])) ++i;
    return i < text_.size() && text_[i] == '=';
  }

  /// Consumes a token68 if one forms the whole rest of the current list element.
  bool try_token68(std::string& out) {
    std::size_t i = pos_;
    while (i < text_.size() && is_token68_char(text_[i])) ++i;
    if (i == pos_) return false;
    while (i < text_.size() && text_[i] == '=') ++i;
    const std::size_t end = i;
    while (i < text_.size() && is_ows(text_[i])) ++i;
    if (i < text_.size() && text_[i] != ',') return false;
    out.assign(text_.substr(pos_, end - pos_));
    pos_ = end;
    return true;
  }

  bool quoted_string(std::string& out) {
    if (!consume('"')) return false;
    while (!at_end()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (at_end() || !is_quotable(peek())) return false;
        out.push_back(text_[pos_++]);
      } else if (is_quotable(c)) {
        out.push_back(c);
      } else {
        return false;
      }
    }
    return false;  // Unterminated.
  }

  bool auth_param(std::vector<AuthParam>& params) {
    AuthParam param;
    const std::string_view name = token();
    if (name.empty()) return false;
    param.name.reserve(name.size());
    for (const char c : name) param.name.push_back(to_lower(c));
    skip_ows();
    if (!consume('=')) return false;
    skip_ows();
    if (!at_end() && peek() == '"') {
      if (!quoted_string(param.value)) return false;
    } else {
      const std::string_view value = token();
      if (value.empty()) return false;
      param.value.assign(value);
    }
    params.push_back(std::move(param));
    return true;
  }

  bool parse_challenge(Challenge& challenge) {
    const std::string_view scheme = token();
    if (scheme.empty()) return false;
    challenge.scheme.assign(scheme);
    const bool had_space = skip_ows();
    if (at_end() || peek() == ',') return parse_more_params(challenge);
    // Grammar: auth-scheme [ 1*SP ( token68 / #auth-param ) ].
    if (!had_space) return false;
    if (try_token68(challenge.token68.emplace())) return true;
    challenge.token68.reset();
    if (!auth_param(challenge.params)) return false;
    return parse_more_params(challenge);
  }

  /// Continues a challenge's auth-param list; stops before an element that starts a new challenge.
  bool parse_more_params(Challenge& challenge) {
    for (;;) {
      skip_ows();
      if (at_end()) return true;
      if (peek() != ',') return false;
      const std::size_t list_pos = pos_;
      if (!skip_empty_elements()) return true;
      if (!at_auth_param()) {
        // Rewind to the comma so parse_all sees the element separator.
        pos_ = list_pos;
        return true;
      }
      if (!auth_param(challenge.params)) return false;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace www_authenticate_internal

KEYWARD_DECL std::optional<std::vector<Challenge>> parse_www_authenticate(std::string_view header) {
  std::vector<Challenge> challenges;
  www_authenticate_internal::ChallengeParser parser{header};
  if (!parser.parse_all(challenges)) return std::nullopt;
  return challenges;
}

}  // namespace keyward::detail
