// A small, strict JSON reader (RFC 8259) for the bodies keyward has to inspect, such as token
// endpoint responses and provider error documents. It builds a plain DOM and accepts only exact
// JSON: strings must be valid UTF-8, escapes must be well formed (no lone surrogates), and numbers
// must follow the RFC grammar and fit a finite double (values that overflow or underflow to zero
// are rejected rather than rounded). It never throws, and it bounds input size and nesting depth
// so that hostile input can exhaust neither memory nor the stack.

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

namespace keyward::detail::json {

/// Input over max_size bytes or nested deeper than max_depth fails; stack use grows with max_depth.
struct Limits {
  std::size_t max_depth = 64;
  std::size_t max_size = 1 << 20;
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

 private:
  friend class Parser;

  Type type_ = Type::null;
  bool bool_ = false;
  double number_ = 0.0;
  std::string string_;
  std::vector<Value> array_;
  std::vector<std::pair<std::string, Value>> object_;
};

/// Recursive-descent parser behind parse(); call parse() instead of using it directly.
class Parser {
 public:
  /// Prepares to parse text under limits.
  Parser(std::string_view text, Limits limits) noexcept : text_(text), limits_(limits) {}

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
        return parse_number(out.number_);
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
      if (at_end() || text_[pos_] != '"' || !parse_string(key)) return false;
      skip_whitespace();
      if (!consume(':')) return false;
      skip_whitespace();
      auto& member = out.object_.emplace_back(std::move(key), Value{});
      if (!parse_value(member.second, depth)) return false;
      skip_whitespace();
      if (consume('}')) return true;
      if (!consume(',')) return false;
    }
  }

  // The grammar is checked by hand because std::from_chars accepts forms JSON forbids ("1.",
  // ".5", "inf", "nan"); from_chars then only converts a token already known to be valid.
  bool parse_number(double& out) {
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
      } else if (byte < 0x20) {
        return false;  // RFC 8259 requires control characters to be escaped.
      } else if (byte < 0x80) {
        out.push_back(static_cast<char>(byte));
        ++pos_;
      } else {
        const std::size_t length = utf8_sequence_length(text_.substr(pos_));
        if (length == 0) return false;
        out.append(text_.substr(pos_, length));
        pos_ += length;
      }
    }
    return false;  // Unterminated string.
  }

  // Returns the length of the well-formed multi-byte UTF-8 sequence that starts s, or 0; the
  // ranges follow Unicode Table 3-7, so overlong forms, surrogates and values past U+10FFFF fail.
  static std::size_t utf8_sequence_length(std::string_view s) noexcept {
    const auto byte_at = [s](std::size_t i) -> unsigned {
      return i < s.size() ? static_cast<unsigned char>(s[i]) : 0U;
    };
    const unsigned lead = byte_at(0);
    std::size_t length = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
    } else {
      return 0;
    }
    const unsigned low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
    const unsigned high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
    if (byte_at(1) < low || byte_at(1) > high) return 0;
    for (std::size_t i = 2; i < length; ++i) {
      if (byte_at(i) < 0x80 || byte_at(i) > 0xBF) return 0;
    }
    return length;
  }

  // Precondition: the next character is the backslash.
  bool parse_escape(std::string& out) {
    ++pos_;
    if (at_end()) return false;
    const char letter = text_[pos_++];
    if (letter == 'u') return parse_unicode_escape(out);
    // The remaining escapes are single letters; each decodes to the character at the same index.
    constexpr std::string_view kLetters = "\"\\/bfnrt";
    constexpr std::string_view kDecoded = "\"\\/\b\f\n\r\t";
    const std::size_t index = kLetters.find(letter);
    if (index == std::string_view::npos) return false;
    out.push_back(kDecoded[index]);
    return true;
  }

  bool parse_unicode_escape(std::string& out) {
    std::uint32_t code = 0;
    if (!read_hex4(code)) return false;
    if (code >= 0xDC00 && code <= 0xDFFF) return false;  // A low surrogate cannot come first.
    if (code >= 0xD800 && code <= 0xDBFF) {
      // A high surrogate is only meaningful with an escaped low surrogate right after it.
      std::uint32_t low = 0;
      if (!consume('\\') || !consume('u') || !read_hex4(low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) return false;
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, code);
    return true;
  }

  // Reads exactly four hex digits; from_chars takes no sign or "0x" prefix for unsigned types.
  bool read_hex4(std::uint32_t& out) noexcept {
    if (text_.size() - pos_ < 4) return false;
    const char* first = text_.data() + pos_;
    const auto [end, error] = std::from_chars(first, first + 4, out, 16);
    pos_ += 4;
    return error == std::errc{} && end == first + 4;
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
  std::size_t pos_ = 0;
};

/// Parses text as one JSON document, or returns std::nullopt if it is invalid or exceeds limits.
inline std::optional<Value> parse(std::string_view text, Limits limits = {}) noexcept {
  if (text.size() > limits.max_size) return std::nullopt;
  try {
    std::optional<Value> root(std::in_place);
    if (!Parser(text, limits).parse_document(*root)) return std::nullopt;
    return root;
  } catch (const std::bad_alloc&) {
    // Allocation is the only thing that can throw; a parse that cannot allocate has failed.
    return std::nullopt;
  }
}

}  // namespace keyward::detail::json

#endif  // KEYWARD_DETAIL_JSON_HPP
