// libFuzzer target for keyward::detail::json::parse, strict and lenient.
//
// Invariants: parsing never crashes, leaks or reads out of bounds; a document that parses, written
// back out as JSON, parses again to the same value (so every accepted number and string is
// representable and every decoded string is valid UTF-8); a bare number is what strtod reads;
// tighter limits never accept more. The lenient reading accepts every document the strict one
// does, with the same value, and what it accepts beyond that also writes back out as exact JSON.
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/text.hpp"

namespace {

using keyward::detail::json::Strictness;
using keyward::detail::json::Type;
using keyward::detail::json::Value;
using keyward::fuzz::require;

void write(std::string& out, const Value& value) {
  switch (value.type()) {
    case Type::null:
      out += "null";
      return;
    case Type::boolean:
      out += *value.as_bool() ? "true" : "false";
      return;
    case Type::number: {
      std::array<char, 64> buffer{};
      // Shortest round-trip form, e.g. "1e+100" or "-0": both valid JSON.
      const auto [end, error] =
          std::to_chars(buffer.data(), buffer.data() + buffer.size(), *value.as_number());
      require(error == std::errc{});
      out.append(buffer.data(), end);
      return;
    }
    case Type::string:
      keyward::detail::append_json_string(out, *value.as_string());
      return;
    case Type::array: {
      out += '[';
      const char* separator = "";
      for (const Value& element : *value.as_array()) {
        out += separator;
        write(out, element);
        separator = ",";
      }
      out += ']';
      return;
    }
    case Type::object: {
      out += '{';
      const char* separator = "";
      for (const auto& [name, member] : *value.as_object()) {
        out += separator;
        keyward::detail::append_json_string(out, name);
        out += ':';
        write(out, member);
        separator = ",";
      }
      out += '}';
      return;
    }
  }
  require(false);
}

bool same(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Type::null:
      return true;
    case Type::boolean:
      return a.as_bool() == b.as_bool();
    case Type::number:
      return *a.as_number() == *b.as_number() &&
             std::signbit(*a.as_number()) == std::signbit(*b.as_number());
    case Type::string:
      return *a.as_string() == *b.as_string();
    case Type::array: {
      const auto& x = *a.as_array();
      const auto& y = *b.as_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!same(x[i], y[i])) return false;
      }
      return true;
    }
    case Type::object: {
      const auto& x = *a.as_object();
      const auto& y = *b.as_object();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (x[i].first != y[i].first || !same(x[i].second, y[i].second)) return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace json = keyward::detail::json;
  const std::string_view text = keyward::fuzz::as_text(data, size);
  const std::optional<Value> value = json::parse(text);

  // A depth or size limit can only turn an accepted document into a rejected one.
  const std::optional<Value> shallow = json::parse(text, {.max_depth = 3, .max_size = 1 << 20});
  const std::optional<Value> small = json::parse(text, {.max_depth = 64, .max_size = 64});
  require(!shallow || (value && same(*shallow, *value)));
  require(!small || (value && same(*small, *value)));

  // Lenient reading: only strings are repaired, so it accepts a superset and agrees where both do.
  const std::optional<Value> lenient = json::parse(text, Strictness::lenient);
  const std::optional<Value> lenient_shallow =
      json::parse(text, Strictness::lenient, {.max_depth = 3, .max_size = 1 << 20});
  require(!value || (lenient && same(*value, *lenient)));
  require(!lenient_shallow || (lenient && same(*lenient_shallow, *lenient)));
  if (lenient) {
    // Its strings are valid UTF-8 whatever the input held, so they write out as exact JSON.
    std::string written;
    write(written, *lenient);
    const std::optional<Value> again = json::parse(written);
    require(again.has_value());
    require(same(*lenient, *again));
  }
  if (!value) return 0;

  // A document that is one bare number must be the double strtod reads: this catches a number
  // that overflowed or underflowed being kept as some other value.
  if (value->is_number() && text.find_first_of("[{") == std::string_view::npos) {
    const std::string copy(text);
    require(*value->as_number() == std::strtod(copy.c_str(), nullptr));
  }

  std::string written;
  write(written, *value);
  const std::optional<Value> again = json::parse(written);
  require(again.has_value());
  require(same(*value, *again));
  // Writing is deterministic, so a second round gives the same text.
  std::string rewritten;
  write(rewritten, *again);
  require(rewritten == written);
  return 0;
}
