// A translation unit with one CredentialPool of the Anthropic bundle (bench/compile_time.sh).
#include "keyward/pool.hpp"

#include <string>
#include <vector>

#include "keyward/provider/anthropic.hpp"

struct Client {
  keyward::TransportResult send(const keyward::Request& /*request*/) const {
    return keyward::Response{.status = 200, .headers = {}, .body = {}};
  }
};

int main() {
  using Pool = keyward::CredentialPool<Client, keyward::provider::Anthropic>;
  std::vector<Pool::Profile> profiles;
  profiles.push_back(
      {"anthropic:a", keyward::Credential::api_key("sk-ant-api03-compile-a-abcd"), 1, {}});
  profiles.push_back(
      {"anthropic:b", keyward::Credential::api_key("sk-ant-api03-compile-b-abcd"), 1, {}});
  Pool pool{Client{}, std::move(profiles)};
  auto response = pool.send({.method = "POST", .url = "https://api.anthropic.com/v1/messages"});
  return response ? 0 : 1;
}
