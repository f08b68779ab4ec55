// Definitions for keyward/detail/text.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "keyward/detail/text.hpp"
#include "keyward/detail/utf8.hpp"

namespace keyward::detail {

KEYWARD_DECL void append_json_string(std::string& out, std::string_view text) {
  constexpr std::string_view kHex = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const Utf8Step step = next_utf8(text.substr(i));
    if (!step.valid) {
      // RFC 8259 section 8.1 requires UTF-8, and a reader that rejects the document would lose
      // every other member with it.
      out.append("\\ufffd");
      i += step.size;
      continue;
    }
    if (step.size > 1) {
      out.append(text.substr(i, step.size));
      i += step.size;
      continue;
    }
    const char c = text[i++];
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        // DEL is legal JSON, but escaped it cannot reach a terminal or a log line raw.
        if (byte < 0x20 || byte == 0x7F) {
          out.append("\\u00");
          out.push_back(kHex[byte >> 4U]);
          out.push_back(kHex[byte & 0xFU]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

KEYWARD_DECL void append_form_encoded(std::string& out, std::string_view text) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4U]);
      out.push_back(kHex[byte & 0xFU]);
    }
  }
}

KEYWARD_DECL std::string base64_encode(std::string_view data) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t{static_cast<unsigned char>(data[i])} << 16U) |
                            (std::uint32_t{static_cast<unsigned char>(data[i + 1])} << 8U) |
                            std::uint32_t{static_cast<unsigned char>(data[i + 2])};
    out.push_back(kAlphabet[(n >> 18U) & 63U]);
    out.push_back(kAlphabet[(n >> 12U) & 63U]);
    out.push_back(kAlphabet[(n >> 6U) & 63U]);
    out.push_back(kAlphabet[n & 63U]);
  }
  const std::size_t rest = data.size() - i;
  if (rest > 0) {
    std::uint32_t n = std::uint32_t{static_cast<unsigned char>(data[i])} << 16U;
    if (rest == 2) n |= std::uint32_t{static_cast<unsigned char>(data[i + 1])} << 8U;
    out.push_back(kAlphabet[(n >> 18U) & 63U]);
    out.push_back(kAlphabet[(n >> 12U) & 63U]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6U) & 63U] : '=');
    out.push_back('=');
  }
  return out;
}

KEYWARD_DECL std::string format_rfc3339_seconds(std::chrono::sys_seconds seconds) {
  using namespace std::chrono;
  const auto day = floor<days>(seconds);
  const year_month_day ymd{day};
  const hh_mm_ss hms{seconds - day};
  std::array<char, 32> buffer{};
  const int n = std::snprintf(
      buffer.data(), buffer.size(), "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
      static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
      static_cast<int>(hms.seconds().count()));
  return {buffer.data(), n > 0 ? static_cast<std::size_t>(n) : 0U};
}

KEYWARD_DECL std::string format_duration(std::chrono::milliseconds duration) {
  using namespace std::chrono;
  // The size of the most negative count does not fit; a millisecond less does not matter.
  const auto count = duration.count();
  const auto ms = count >= 0 ? count : count == milliseconds::min().count() ? -(count + 1) : -count;
  const auto n = [](long long value, const char* unit) {
    return std::to_string(value) + " " + unit;
  };
  if (ms < 1000) return n(ms, "ms");
  const long long s = ms / 1000;
  if (s < 60) return n(s, "s");
  if (s < 3600) return n(s / 60, "min") + (s % 60 != 0 ? " " + n(s % 60, "s") : "");
  const long long days = s / 86400;
  if (days < 1) return n(s / 3600, "h") + (s % 3600 >= 60 ? " " + n(s % 3600 / 60, "min") : "");
  if (days < 2) return "1 day" + (s % 86400 >= 3600 ? " " + n(s % 86400 / 3600, "h") : "");
  if (days < 730) return n(days, "days");
  return n(days * 4 / 1461, "years");  // 1461 days: four years with their leap day
}

}  // namespace keyward::detail
