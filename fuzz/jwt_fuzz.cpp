// libFuzzer target for keyward/detail/jwt.hpp and keyward/detail/base64.hpp.
//
// Input: one mode byte, then the data. Mode '0' (modulo 3) reads the data as a token; mode '1'
// wraps the data as the payload of an otherwise valid token; mode '2' decodes it as base64url.
// Invariants: a token with an expiry looks like a JWT and expires at or after the epoch; a
// wrapped payload makes a JWT exactly when it is a JSON object, and its expiry is its sole
// numeric exp claim; base64url is canonical, so decoding and re-encoding gives the input back.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "keyward/detail/base64.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/jwt.hpp"
#include "keyward/detail/text.hpp"

namespace {

using keyward::fuzz::require;
using std::chrono::sys_seconds;
namespace kd = keyward::detail;

std::string b64url(std::string_view data) {
  std::string out = kd::base64_encode(data);
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

void check_token(std::string_view token) {
  const std::optional<sys_seconds> exp = kd::jwt_expiry(token);
  const bool jwt = kd::looks_like_jwt(token);
  if (exp) {
    require(jwt);
    require(*exp >= sys_seconds{});
  }
}

void check_payload(std::string_view payload) {
  const std::string token =
      b64url(R"({"alg":"ES256","typ":"JWT"})") + "." + b64url(payload) + "." + b64url("signature");
  const std::optional<kd::json::Value> claims = kd::json::parse(payload);
  require(kd::looks_like_jwt(token) == (claims && claims->is_object()));
  const std::optional<sys_seconds> exp = kd::jwt_expiry(token);
  if (!exp) return;
  int count = 0;
  double value = -1;
  for (const auto& [name, member] : *claims->as_object()) {
    if (name == "exp") {
      ++count;
      value = member.as_number().value_or(-1);
    }
  }
  require(count == 1 && value >= 0);
  if (value < 9.2e18) {
    require(static_cast<double>(exp->time_since_epoch().count()) == std::floor(value));
  }
}

void check_base64(std::string_view text) {
  const std::optional<std::string> bytes = kd::base64url_decode(text);
  if (!bytes) return;
  std::string_view unpadded = text;
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
  require(b64url(*bytes) == unpadded);
  require(bytes->size() == unpadded.size() * 3 / 4);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text = keyward::fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      check_token(text);
      break;
    case 1:
      check_payload(text);
      break;
    default:
      check_base64(text);
  }
  return 0;
}
