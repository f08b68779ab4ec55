// detail::json::write(): writes a parsed JSON value back as text, indented two spaces, so that a
// file keyward rewrites keeps every member it does not own. Numbers that are whole and exact in
// a double are written as integers (1732000000000, not 1.732e+12).
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "keyward/detail/json.hpp"
#include "keyward/detail/text.hpp"

namespace keyward::detail::json {

/// Appends a line break and two spaces per level.
inline void newline(std::string& out, std::size_t level) {
  out.push_back('\n');
  out.append(2 * level, ' ');
}

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

/// Appends `value` as JSON; nested lines are indented from `level`.
inline void write(std::string& out, const Value& value, std::size_t level = 0) {
  switch (value.type()) {
    case Type::null:
      out.append("null");
      return;
    case Type::boolean:
      out.append(*value.as_bool() ? "true" : "false");
      return;
    case Type::number:
      // The source text, byte for byte, when there is one: a number is never rounded by a rewrite.
      if (value.number_text().empty()) {
        write_number(out, *value.as_number());
      } else {
        out.append(value.number_text());
      }
      return;
    case Type::string:
      append_json_string(out, *value.as_string());
      return;
    case Type::array: {
      const auto& elements = *value.as_array();
      out.push_back('[');
      for (std::size_t i = 0; i < elements.size(); ++i) {
        if (i != 0) out.push_back(',');
        newline(out, level + 1);
        write(out, elements[i], level + 1);
      }
      if (!elements.empty()) newline(out, level);
      out.push_back(']');
      return;
    }
    case Type::object: {
      const auto& members = *value.as_object();
      out.push_back('{');
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i != 0) out.push_back(',');
        newline(out, level + 1);
        append_json_string(out, members[i].first);
        out.append(": ");
        write(out, members[i].second, level + 1);
      }
      if (!members.empty()) newline(out, level);
      out.push_back('}');
      return;
    }
  }
}

}  // namespace keyward::detail::json
