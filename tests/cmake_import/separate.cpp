// A consumer built with KEYWARD_SEPARATE_COMPILATION (docs/building.md): this TU declares
// keyward's functions and separate_src.cpp defines them. It sends one request through a
// transport that answers 200 and prints the status, so that a link with a missing or
// duplicated definition fails here rather than in a user's build.
#include <cstdio>
#include <keyward/provider/anthropic.hpp>
#include <keyward/resilient_credential.hpp>

namespace {
struct Answer200 {
  keyward::TransportResult send(const keyward::Request& /*request*/) const {
    return keyward::Response{.status = 200, .headers = {}, .body = {}};
  }
};
}  // namespace

int main() {
  keyward::ResilientCredential<Answer200, keyward::provider::Anthropic> api{
      Answer200{}, keyward::Credential::api_key("sk-ant-api03-separate-compilation-example")};
  auto response = api.send({.method = "POST", .url = "https://api.anthropic.com/v1/messages"});
  if (!response) {
    std::printf("%s\n", response.error().message.c_str());
    return 1;
  }
  std::printf("separate compilation: %d\n", response->status);
  return 0;
}
