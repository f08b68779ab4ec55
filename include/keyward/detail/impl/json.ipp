// Definitions for keyward/detail/json.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "keyward/detail/json.hpp"
#include "keyward/detail/utf8.hpp"
#include "keyward/detail/wipe.hpp"

namespace keyward::detail::json {

KEYWARD_DECL Value::Value(const Value& other) = default;
KEYWARD_DECL Value::Value(Value&& other) noexcept = default;
KEYWARD_DECL Value& Value::operator=(const Value& other) = default;
KEYWARD_DECL Value& Value::operator=(Value&& other) noexcept = default;
KEYWARD_DECL Value::~Value() = default;

KEYWARD_DECL std::optional<std::uint64_t> Value::as_uint64() const noexcept {
  const std::string_view text = number_text();
  std::uint64_t value = 0;
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

KEYWARD_DECL void Value::wipe() noexcept {
  detail::wipe(string_);
  for (Value& element : array_) element.wipe();
  for (auto& [name, member] : object_) {
    detail::wipe(name);
    member.wipe();
  }
}

KEYWARD_DECL bool Parser::parse_document(Value& out) {
  skip_whitespace();
  if (!parse_value(out, 0)) return false;
  skip_whitespace();
  return pos_ == text_.size();
}

KEYWARD_DECL bool Parser::parse_value(Value& out, std::size_t depth) {
  out.begin_ = out.key_begin_ = pos_;
  if (!parse_bare_value(out, depth)) return false;
  out.end_ = pos_;
  return true;
}

KEYWARD_DECL bool Parser::parse_bare_value(Value& out, std::size_t depth) {
  if (at_end()) return false;
  switch (text_[pos_]) {
    case 'n':
      out.type_ = Type::null;
      return consume_literal("null");
    case 't':
      out.type_ = Type::boolean;
      out.bool_ = true;
      return consume_literal("true");
    case 'f':
      out.type_ = Type::boolean;
      out.bool_ = false;
      return consume_literal("false");
    case '"':
      out.type_ = Type::string;
      return parse_string(out.string_);
    case '[':
      return parse_array(out, depth + 1);
    case '{':
      return parse_object(out, depth + 1);
    default:
      out.type_ = Type::number;
      return parse_number(out.number_, out.number_text_);
  }
}

KEYWARD_DECL bool Parser::parse_array(Value& out, std::size_t depth) {
  if (depth > limits_.max_depth) return false;
  out.type_ = Type::array;
  ++pos_;  // '['
  skip_whitespace();
  if (consume(']')) return true;
  while (true) {
    skip_whitespace();
    if (!parse_value(out.array_.emplace_back(), depth)) return false;
    skip_whitespace();
    if (consume(']')) return true;
    if (!consume(',')) return false;
  }
}

KEYWARD_DECL bool Parser::parse_object(Value& out, std::size_t depth) {
  if (depth > limits_.max_depth) return false;
  out.type_ = Type::object;
  ++pos_;  // '{'
  skip_whitespace();
  if (consume('}')) return true;
  while (true) {
    skip_whitespace();
    std::string key;
    const std::size_t key_begin = pos_;
    if (at_end() || text_[pos_] != '"' || !parse_string(key)) return false;
    skip_whitespace();
    if (!consume(':')) return false;
    skip_whitespace();
    auto& member = out.object_.emplace_back(std::move(key), Value{});
    if (!parse_value(member.second, depth)) return false;
    member.second.key_begin_ = key_begin;
    skip_whitespace();
    if (consume('}')) return true;
    if (!consume(',')) return false;
  }
}

KEYWARD_DECL bool Parser::parse_number(double& out, std::string& text) {
  const std::size_t start = pos_;
  consume('-');
  // A leading zero stands alone: in "01" the number ends after "0" and the "1" fails as garbage.
  if (!consume('0') && !consume_digits()) return false;
  if (consume('.') && !consume_digits()) return false;
  if (consume('e') || consume('E')) {
    if (!consume('+')) consume('-');
    if (!consume_digits()) return false;
  }
  const char* first = text_.data() + start;
  const char* last = text_.data() + pos_;
  const auto [end, error] = std::from_chars(first, last, out);
  text.assign(first, last);
  return error == std::errc{} && end == last;
}

KEYWARD_DECL bool Parser::parse_string(std::string& out) {
  ++pos_;
  while (!at_end()) {
    const auto byte = static_cast<unsigned char>(text_[pos_]);
    if (byte == '"') {
      ++pos_;
      return true;
    }
    if (byte == '\\') {
      if (!parse_escape(out)) return false;
    } else if (byte < 0x20 && !lenient_) {
      return false;  // RFC 8259 requires control characters to be escaped.
    } else if (byte < 0x80) {
      out.push_back(static_cast<char>(byte));
      ++pos_;
    } else {
      // An ill-formed subpart never swallows an ASCII byte, so the closing quote survives it.
      const Utf8Step step = next_utf8(text_.substr(pos_));
      if (!step.valid && !lenient_) return false;
      out.append(step.valid ? text_.substr(pos_, step.size) : kReplacementCharacter);
      pos_ += step.size;
    }
  }
  return false;  // Unterminated string.
}

KEYWARD_DECL bool Parser::parse_escape(std::string& out) {
  ++pos_;
  if (at_end()) return false;
  const char letter = text_[pos_];
  if (letter == 'u') {
    ++pos_;
    return parse_unicode_escape(out);
  }
  // The remaining escapes are single letters; each decodes to the character at the same index.
  constexpr std::string_view kLetters = "\"\\/bfnrt";
  constexpr std::string_view kDecoded = "\"\\/\b\f\n\r\t";
  const std::size_t index = kLetters.find(letter);
  if (index == std::string_view::npos) {
    // A non-ASCII byte after the backslash is left to be read as text, whole or repaired.
    if (static_cast<unsigned char>(letter) < 0x80) ++pos_;
    return replace(out);
  }
  ++pos_;
  out.push_back(kDecoded[index]);
  return true;
}

KEYWARD_DECL bool Parser::parse_unicode_escape(std::string& out) {
  std::uint32_t code = 0;
  if (!read_hex4(code)) return replace(out);
  if (code >= 0xDC00 && code <= 0xDFFF) return replace(out);  // A low surrogate cannot lead.
  if (code >= 0xD800 && code <= 0xDBFF) {
    // A high surrogate is only meaningful with an escaped low surrogate right after it.
    const std::size_t after_high = pos_;
    std::uint32_t low = 0;
    if (!consume('\\') || !consume('u') || !read_hex4(low) || low < 0xDC00 || low > 0xDFFF) {
      // Whatever followed is read on its own: "\ud83d\u0041" still ends in "A".
      pos_ = after_high;
      return replace(out);
    }
    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
  }
  append_utf8(out, code);
  return true;
}

KEYWARD_DECL bool Parser::read_hex4(std::uint32_t& out) noexcept {
  std::size_t digits = 0;
  out = 0;
  while (digits < 4 && !at_end()) {
    const char c = text_[pos_];
    const int value = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
    if (value < 0) break;
    out = (out << 4U) | static_cast<std::uint32_t>(value);
    ++digits;
    ++pos_;
  }
  return digits == 4;
}

KEYWARD_DECL bool Parser::replace(std::string& out) const {
  if (!lenient_) return false;
  out.append(kReplacementCharacter);
  return true;
}

KEYWARD_DECL void Parser::append_utf8(std::string& out, std::uint32_t code) {
  const auto put = [&out](std::uint32_t byte) { out.push_back(static_cast<char>(byte)); };
  if (code < 0x80) {
    put(code);
  } else if (code < 0x800) {
    put(0xC0 | (code >> 6));
    put(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    put(0xE0 | (code >> 12));
    put(0x80 | ((code >> 6) & 0x3F));
    put(0x80 | (code & 0x3F));
  } else {
    put(0xF0 | (code >> 18));
    put(0x80 | ((code >> 12) & 0x3F));
    put(0x80 | ((code >> 6) & 0x3F));
    put(0x80 | (code & 0x3F));
  }
}

KEYWARD_DECL std::optional<Value> parse(std::string_view text, Strictness strictness,
                                        Limits limits) noexcept {
  if (text.size() > limits.max_size) return std::nullopt;
  try {
    std::optional<Value> root(std::in_place);
    if (!Parser(text, limits, strictness).parse_document(*root)) return std::nullopt;
    return root;
  } catch (const std::bad_alloc&) {
    // Allocation is the only thing that can throw; a parse that cannot allocate has failed.
    return std::nullopt;
  }
}

}  // namespace keyward::detail::json
