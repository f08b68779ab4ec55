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
// The reader's bodies are in impl/json.ipp (keyward/detail/config.hpp): one recursive-descent
// reader for one grammar, strict and lenient, kept in one file.

#ifndef KEYWARD_DETAIL_JSON_HPP
#define KEYWARD_DETAIL_JSON_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/detail/config.hpp"

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
  // Declared here and defaulted in impl/json.ipp, so that a translation unit that copies, moves
  // or destroys a Value (a vector of them, an optional one) calls these instead of compiling them.
  Value() = default;
  KEYWARD_DECL Value(const Value& other);
  KEYWARD_DECL Value(Value&& other) noexcept;
  KEYWARD_DECL Value& operator=(const Value& other);
  KEYWARD_DECL Value& operator=(Value&& other) noexcept;
  KEYWARD_DECL ~Value();

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
  KEYWARD_DECL std::optional<std::uint64_t> as_uint64() const noexcept;
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
  KEYWARD_DECL void wipe() noexcept;

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
  KEYWARD_DECL bool parse_document(Value& out);

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
  KEYWARD_DECL bool parse_value(Value& out, std::size_t depth);

  KEYWARD_DECL bool parse_bare_value(Value& out, std::size_t depth);

  KEYWARD_DECL bool parse_array(Value& out, std::size_t depth);

  KEYWARD_DECL bool parse_object(Value& out, std::size_t depth);

  // The grammar is checked by hand because std::from_chars accepts forms JSON forbids ("1.",
  // ".5", "inf", "nan"); from_chars then only converts a token already known to be valid.
  KEYWARD_DECL bool parse_number(double& out, std::string& text);

  // Precondition: the next character is the opening quote.
  KEYWARD_DECL bool parse_string(std::string& out);

  // Precondition: the next character is the backslash.
  KEYWARD_DECL bool parse_escape(std::string& out);

  KEYWARD_DECL bool parse_unicode_escape(std::string& out);

  // Reads exactly four hex digits. On failure it stops after the hex digits it found, so that a
  // lenient reading of "\u12" resumes at what follows them.
  KEYWARD_DECL bool read_hex4(std::uint32_t& out) noexcept;

  // Stands U+FFFD in for a broken escape when reading leniently; fails the parse otherwise.
  KEYWARD_DECL bool replace(std::string& out) const;

  KEYWARD_DECL static void append_utf8(std::string& out, std::uint32_t code);

  std::string_view text_;
  Limits limits_;
  bool lenient_ = false;
  std::size_t pos_ = 0;
};

/// Parses text as one JSON document read with `strictness`, or returns std::nullopt if it is
/// invalid or exceeds limits.
KEYWARD_DECL std::optional<Value> parse(std::string_view text, Strictness strictness,
                                        Limits limits = {}) noexcept;

/// Parses text as one exact JSON document, or returns std::nullopt if it is invalid or exceeds
/// limits.
inline std::optional<Value> parse(std::string_view text, Limits limits = {}) noexcept {
  return parse(text, Strictness::strict, limits);
}

}  // namespace keyward::detail::json

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/json.ipp"
#endif

#endif  // KEYWARD_DETAIL_JSON_HPP
