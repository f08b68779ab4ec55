// Writing JSON back in the style of the document it was read from, so that a file keyward
// rewrites keeps its own text: detect_style() reads how a document is laid out (one line, or one
// member a line indented by two spaces, four, a tab…, and the spacing after `:` and `,`), and
// ObjectWriter writes objects that way, copying members it is given as source text byte for byte
// (json::Value::member_source()).
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "keyward/detail/json.hpp"
#include "keyward/detail/text.hpp"

namespace keyward::detail::json {

/// How a document lays out its objects. The default is one member a line, indented two spaces.
struct Style {
  bool multiline = true;       ///< One member a line; otherwise the whole object on one line.
  std::string newline = "\n";  ///< The line break ("\n" or "\r\n") when multiline.
  std::string indent = "  ";   ///< One level of indentation when multiline.
  std::string colon = ": ";    ///< Between a member's name and its value.
  std::string comma = ",";     ///< Between members: ",", or ", " on one line.
};

/// The style of `document`, whose root parse() read as `root`: taken from the root object's first
/// members; the default Style when the root has no members.
inline Style detect_style(std::string_view document, const Value& root) {
  Style style;
  const auto* members = root.as_object();
  const std::string_view whole = root.source(document);
  if (members == nullptr || members->empty() || whole.empty()) return style;
  const std::string_view first = members->front().second.member_source(document);
  const std::string_view value = members->front().second.source(document);
  if (first.empty() || value.empty()) return style;
  // The whitespace between the root's '{' and its first member's name.
  const auto offset = [&](std::string_view part) {
    return static_cast<std::size_t>(part.data() - document.data());
  };
  const std::size_t open = offset(whole);
  const std::string_view lead = document.substr(open + 1, offset(first) - open - 1);
  const std::size_t line = lead.rfind('\n');
  style.multiline = line != std::string_view::npos;
  if (style.multiline) {
    style.newline = line > 0 && lead[line - 1] == '\r' ? "\r\n" : "\n";
    style.indent = std::string{lead.substr(line + 1)};
  } else {
    style.indent.clear();
  }
  // After the ':' comes the whitespace before the value.
  const std::string_view name_to_value = first.substr(0, offset(value) - offset(first));
  const std::size_t colon = name_to_value.rfind(':');
  style.colon = std::string{name_to_value.substr(colon)};
  // Between the first member and the second: whitespace, ',', whitespace.
  if (!style.multiline) {
    if (members->size() > 1) {
      const std::string_view second = (*members)[1].second.member_source(document);
      const std::size_t end = offset(first) + first.size();
      const std::string_view between = document.substr(end, offset(second) - end);
      style.comma = std::string{between.substr(between.find(','))};
    } else {
      style.comma = style.colon.size() > 1 ? ", " : ",";
    }
  }
  return style;
}

/// Writes one object member by member in a Style: `{`, the members, then close().
class ObjectWriter {
 public:
  /// Starts an object nested `level` objects deep (0 for the root) at the end of `out`.
  ObjectWriter(std::string& out, const Style& style, std::size_t level)
      : out_(out), style_(style), level_(level) {
    out_.push_back('{');
  }

  /// Starts a member named `name`; the caller appends its value.
  void name(std::string_view name) {
    next();
    append_json_string(out_, name);
    out_.append(style_.colon);
  }

  /// Appends a whole member, name and value, as the source text `member` (see
  /// Value::member_source()).
  void member(std::string_view member) {
    next();
    out_.append(member);
  }

  /// Ends the object.
  void close() {
    if (members_ != 0) line(level_);
    out_.push_back('}');
  }

  /// How many objects deep this object's member values are.
  [[nodiscard]] std::size_t inner() const noexcept { return level_ + 1; }

 private:
  void next() {
    if (members_++ != 0) out_.append(style_.multiline ? "," : style_.comma);
    line(level_ + 1);
  }

  void line(std::size_t level) {
    if (!style_.multiline) return;
    out_.append(style_.newline);
    for (std::size_t i = 0; i < level; ++i) out_.append(style_.indent);
  }

  std::string& out_;
  const Style& style_;
  std::size_t level_;
  std::size_t members_ = 0;
};

/// Appends a number: whole numbers below 2^53 as integers, others in the shortest exact form.
inline void write_number(std::string& out, double number) {
  std::array<char, 32> buffer{};
  char* const first = buffer.data();
  char* const last = first + buffer.size();
  constexpr double kExact = 9007199254740992.0;  // 2^53
  const bool whole = std::fabs(number) < kExact && number == std::trunc(number);
  const auto [end, error] = whole ? std::to_chars(first, last, static_cast<std::int64_t>(number))
                                  : std::to_chars(first, last, number);
  out.append(first, error == std::errc{} ? end : first);
}

}  // namespace keyward::detail::json
