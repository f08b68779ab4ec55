// A translation unit with one ResilientCredential of the Anthropic bundle over the libcurl
// transport (bench/compile_time.sh).
#include "keyward/transport/curl.hpp"

#include "keyward/provider/anthropic.hpp"
#include "keyward/resilient_credential.hpp"

int main() {
  keyward::ResilientCredential<keyward::transport::Curl, keyward::provider::Anthropic> api{
      keyward::transport::Curl{},
      keyward::Credential::api_key("sk-ant-api03-compile-time-example-key-abcd")};
  auto response = api.send({.method = "POST", .url = "http://127.0.0.1:9/v1/messages"});
  return response ? 0 : 1;
}
