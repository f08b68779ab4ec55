// A small, strict JSON reader (RFC 8259) for the bodies keyward has to inspect, such as token
// endpoint responses and provider error documents. It builds a plain DOM and accepts only exact
// JSON: strings must be valid UTF-8, escapes must be well formed (no lone surrogates), and numbers
// must follow the RFC grammar and fit a finite double (values that overflow or underflow to zero
// are rejected rather than rounded). It never throws, and it bounds input size and nesting depth
// so that hostile input can exhaust neither memory nor the stack. Each value remembers where it
// lay in the text (Value::source()), so a writer can copy what it does not change byte for byte.
//
// A lenient reading serves error bodies, where the message matters more than its exactness: a bad
// escape or invalid UTF-8 in a string becomes U+FFFD and an unescaped control character is kept,
// so one stray "\ud83d" in a message cannot hide the error type next to it. Structure (brackets,
// commas, quotes, numbers, literals) is as strict as ever.
//
// Why this header is over 300 lines: it is one recursive-descent reader for one grammar, strict
// and lenient; splitting it would scatter the grammar across files.

#ifndef KEYWARD_DETAIL_JSON_HPP
#define KEYWARD_DETAIL_JSON_HPP

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

#include "keyward/detail/utf8.hpp"
#include "keyward/detail/wipe.hpp"

namespace keyward::detail::json {

/// Input over max_size bytes or nested deeper than max_depth fails; stack use grows with max_depth.
struct Limits {
  std::size_t max_depth = 64;
  std::size_t max_size = 1 << 20;
};

/// How strings are read: exactly, or repaired where a writer got them wrong.
enum class Strictness {
  strict,   ///< A bad escape, invalid UTF-8 or a raw control character in a string fails.
  lenient,  ///< Bad escapes and invalid UTF-8 become U+FFFD; raw control characters are kept.
};

/// The kind of a JSON value.
enum class Type { null, boolean, number, string, array, object };

/// A parsed JSON value; a default-constructed Value is null.
class Value {
 public:
  /// Returns the kind of this value.
  Type type() const noexcept { return type_; }

  /// Returns true if this value is null.
  bool is_null() const noexcept { return type_ == Type::null; }
  /// Returns true if this value is true or false.
  bool is_bool() const noexcept { return type_ == Type::boolean; }
  /// Returns true if this value is a number.
  bool is_number() const noexcept { return type_ == Type::number; }
  /// Returns true if this value is a string.
  bool is_string() const noexcept { return type_ == Type::string; }
  /// Returns true if this value is an array.
  bool is_array() const noexcept { return type_ == Type::array; }
  /// Returns true if this value is an object.
  bool is_object() const noexcept { return type_ == Type::object; }

  /// Returns the decoded UTF-8 string, or nullptr if this is not a string.
  const std::string* as_string() const noexcept { return is_string() ? &string_ : nullptr; }
  /// Returns the number, or std::nullopt if this is not a number.
  std::optional<double> as_number() const noexcept {
    return is_number() ? std::optional<double>(number_) : std::nullopt;
  }
  /// Returns the number's source text as it was read (empty for a value not made by parse()).
  std::string_view number_text() const noexcept {
    return is_number() ? std::string_view(number_text_) : std::string_view{};
  }
  /// Returns the number as an exact unsigned 64-bit integer, read from its source text, or
  /// std::nullopt if it is not a number or not a whole number in [0, 2^64) written without a
  /// sign, fraction or exponent.
  std::optional<std::uint64_t> as_uint64() const noexcept {
    const std::string_view text = number_text();
    std::uint64_t value = 0;
    if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
  }
  /// Returns this value's source text within `document`, the text parse() read it from, byte for
  /// byte (empty for a value not made by parse()).
  std::string_view source(std::string_view document) const noexcept {
    return slice(document, begin_);
  }
  /// Returns the source text within `document` of the member this value is, from its name's
  /// opening quote to the value's end (`"name": value`); source() for a value that is not a
  /// member of an object.
  std::string_view member_source(std::string_view document) const noexcept {
    return slice(document, key_begin_);
  }
  /// Returns the boolean, or std::nullopt if this is not a boolean.
  std::optional<bool> as_bool() const noexcept {
    return is_bool() ? std::optional<bool>(bool_) : std::nullopt;
  }
  /// Returns the elements, or nullptr if this is not an array.
  const std::vector<Value>* as_array() const noexcept { return is_array() ? &array_ : nullptr; }
  /// Returns the members in document order (duplicates kept), or nullptr if not an object.
  const std::vector<std::pair<std::string, Value>>* as_object() const noexcept {
    return is_object() ? &object_ : nullptr;
  }

  /// Returns the first member named key, or nullptr if absent or this is not an object.
  const Value* find(std::string_view key) const noexcept {
    for (const auto& [name, value] : object_) {
      if (name == key) return &value;
    }
    return nullptr;
  }

  /// Returns the member named key if it is a string, otherwise fallback.
  std::string_view string_or(std::string_view key, std::string_view fallback = {}) const noexcept {
    const Value* member = find(key);
    const std::string* text = member != nullptr ? member->as_string() : nullptr;
    return text != nullptr ? std::string_view(*text) : fallback;
  }

  /// Overwrites every string in this value, member names included, for documents that hold
  /// secrets.
  void wipe() noexcept {
    detail::wipe(string_);
    for (Value& element : array_) element.wipe();
    for (auto& [name, member] : object_) {
      detail::wipe(name);
      member.wipe();
    }
  }

 private:
  friend class Parser;

  std::string_view slice(std::string_view document, std::size_t from) const noexcept {
    if (from >= end_ || end_ > document.size()) return {};
    return document.substr(from, end_ - from);
  }

  // Where parse() found this value: [begin_, end_), and its member name from key_begin_.
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t key_begin_ = 0;
  Type type_ = Type::null;
  bool bool_ = false;
  double number_ = 0.0;
  std::string number_text_;
  std::string string_;
  std::vector<Value> array_;
  std::vector<std::pair<std::string, Value>> object_;
};

/// Recursive-descent parser behind parse(); call parse() instead of using it directly.
class Parser {
 public:
  /// Prepares to parse text under limits.
  Parser(std::string_view text, Limits limits, Strictness strictness = Strictness::strict) noexcept
      : text_(text), limits_(limits), lenient_(strictness == Strictness::lenient) {}

  /// Parses the whole text as exactly one value surrounded by optional whitespace.
  bool parse_document(Value& out) {
    skip_whitespace();
    if (!parse_value(out, 0)) return false;
    skip_whitespace();
    return pos_ == text_.size();
  }

 private:
  bool at_end() const noexcept { return pos_ >= text_.size(); }

  bool consume(char expected) noexcept {
    if (at_end() || text_[pos_] != expected) return false;
    ++pos_;
    return true;
  }

  bool consume_literal(std::string_view word) noexcept {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool consume_digits() noexcept {
    const std::size_t start = pos_;
    while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  // Only the four RFC 8259 whitespace characters; \f, \v and Unicode spaces are not JSON.
  void skip_whitespace() noexcept {
    while (consume(' ') || consume('\t') || consume('\n') || consume('\r')) {
    }
  }

  // depth counts the arrays and objects enclosing this value, so recursion stays within max_depth.
  bool parse_value(Value& out, std::size_t depth) {
    out.begin_ = out.key_begin_ = pos_;
    if (!parse_bare_value(out, depth)) return false;
    out.end_ = pos_;
    return true;
  }

  bool parse_bare_value(Value& out, std::size_t depth) {
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

  bool parse_array(Value& out, std::size_t depth) {
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

  bool parse_object(Value& out, std::size_t depth) {
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

  // The grammar is checked by hand because std::from_chars accepts forms JSON forbids ("1.",
  // ".5", "inf", "nan"); from_chars then only converts a token already known to be valid.
  bool parse_number(double& out, std::string& text) {
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

  // Precondition: the next character is the opening quote.
  bool parse_string(std::string& out) {
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

  // Precondition: the next character is the backslash.
  bool parse_escape(std::string& out) {
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

  bool parse_unicode_escape(std::string& out) {
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

  // Reads exactly four hex digits. On failure it stops after the hex digits it found, so that a
  // lenient reading of "\u12" resumes at what follows them.
  bool read_hex4(std::uint32_t& out) noexcept {
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

  // Stands U+FFFD in for a broken escape when reading leniently; fails the parse otherwise.
  bool replace(std::string& out) const {
    if (!lenient_) return false;
    out.append(kReplacementCharacter);
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t code) {
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

  std::string_view text_;
  Limits limits_;
  bool lenient_ = false;
  std::size_t pos_ = 0;
};

/// Parses text as one JSON document read with `strictness`, or returns std::nullopt if it is
/// invalid or exceeds limits.
inline std::optional<Value> parse(std::string_view text, Strictness strictness,
                                  Limits limits = {}) noexcept {
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

/// Parses text as one exact JSON document, or returns std::nullopt if it is invalid or exceeds
/// limits.
inline std::optional<Value> parse(std::string_view text, Limits limits = {}) noexcept {
  return parse(text, Strictness::strict, limits);
}

}  // namespace keyward::detail::json

#endif  // KEYWARD_DETAIL_JSON_HPP
