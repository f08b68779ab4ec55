// What a user's translation unit with one ResilientCredential and the Anthropic bundle costs to
// compile (bench/compile_time.sh times it at -O2). It includes what it uses, not keyward.hpp.
#include <string>

#include "keyward/provider/anthropic.hpp"
#include "keyward/resilient_credential.hpp"

struct Client {
  keyward::TransportResult send(const keyward::Request& /*request*/) const {
    return keyward::Response{.status = 200, .headers = {}, .body = {}};
  }
};

int main() {
  keyward::ResilientCredential<Client, keyward::provider::Anthropic> api{
      Client{}, keyward::Credential::api_key("sk-ant-api03-compile-time-example-key-abcd")};
  auto response = api.send({.method = "POST", .url = "https://api.anthropic.com/v1/messages"});
  return response ? 0 : 1;
}
