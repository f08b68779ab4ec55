// libFuzzer target for keyward::detail::parse_www_authenticate.
//
// Invariants: every scheme and auth-param name is a non-empty token (names lower-cased), every
// token68 is non-empty; writing the challenges back out (params as quoted-strings) parses to the
// same challenges; find_challenge finds each scheme.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/www_authenticate.hpp"

namespace {

using keyward::detail::Challenge;
using keyward::fuzz::require;

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!keyward::detail::is_tchar(c)) return false;
  }
  return true;
}

std::string write(const std::vector<Challenge>& challenges) {
  std::string out;
  const char* separator = "";
  for (const Challenge& challenge : challenges) {
    out += separator;
    separator = ", ";
    out += challenge.scheme;
    if (challenge.token68) {
      out += ' ';
      out += *challenge.token68;
    }
    const char* param_separator = " ";
    for (const auto& param : challenge.params) {
      out += param_separator;
      param_separator = ", ";
      out += param.name;
      out += "=\"";
      for (const char c : param.value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    }
  }
  return out;
}

bool same(const std::vector<Challenge>& a, const std::vector<Challenge>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].scheme != b[i].scheme || a[i].token68 != b[i].token68 ||
        a[i].params.size() != b[i].params.size()) {
      return false;
    }
    for (std::size_t j = 0; j < a[i].params.size(); ++j) {
      if (a[i].params[j].name != b[i].params[j].name ||
          a[i].params[j].value != b[i].params[j].value) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace kd = keyward::detail;
  const std::optional<std::vector<Challenge>> challenges =
      kd::parse_www_authenticate(keyward::fuzz::as_text(data, size));
  if (!challenges) return 0;

  for (const Challenge& challenge : *challenges) {
    require(is_token(challenge.scheme));
    // The grammar allows either a token68 or auth-params, never both.
    require(!challenge.token68 || (!challenge.token68->empty() && challenge.params.empty()));
    for (const auto& param : challenge.params) {
      require(is_token(param.name));
      for (const char c : param.name) require(kd::to_lower(c) == c);
      require(challenge.param(param.name) != nullptr);
    }
    const Challenge* found = kd::find_challenge(*challenges, challenge.scheme);
    require(found != nullptr && kd::iequals(found->scheme, challenge.scheme));
  }

  const std::optional<std::vector<Challenge>> again =
      kd::parse_www_authenticate(write(*challenges));
  require(again.has_value());
  require(same(*challenges, *again));
  return 0;
}
