// The README's example: wrap an HTTP client in a ResilientCredential and send through it.
//
// The transport here answers locally so the example runs anywhere; in an application it wraps
// the HTTP client (libcurl, cpp-httplib, your own) in one send() function.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "keyward/keyward.hpp"

// Adapt your HTTP client: send a Request, return its Response (any status) or a failure.
struct MyHttpClient {
  keyward::TransportResult send(const keyward::Request& request) const {
    std::printf("%s %s (authorization attached: %s)\n", request.method.c_str(), request.url.c_str(),
                request.headers.contains("authorization") ? "yes" : "no");
    return keyward::Response{.status = 200, .headers = {}, .body = R"({"ok":true})"};
  }
};

int run() {
  const std::string access_token = "sk-ant-oat01-example-access-token-abcd";
  const std::string refresh_token = "sk-ant-ort01-example-refresh-token-wxyz";
  const auto expires_at = std::chrono::system_clock::now() + std::chrono::hours{8};
  // Called with every credential keyward installs, before it is used; an error or exception
  // reaches the caller, and a redeemed refresh token is kept until this succeeds.
  const auto save = [](const keyward::Credential&) -> keyward::Result<void> {
    return {};  // write your credential file here; on failure return keyward::unexpected(...)
  };

  // The provider bundle: Anthropic's error reading, headers, pre-flight and token endpoint.
  // Throws std::invalid_argument (naming the problem, never the secret) for an unusable token.
  keyward::ResilientCredential<MyHttpClient, keyward::provider::Anthropic> api{
      MyHttpClient{},
      keyward::Credential::oauth(access_token, refresh_token, expires_at),
      {.profile = "anthropic:work", .fix = {.unauthenticated = "run `mytool login anthropic`"}},
      {.refresh = keyward::provider::Anthropic::oauth_refresh("my-client-id"),
       .store = keyward::store::Memory{save}}};

  auto response = api.send({.method = "POST", .url = "https://api.anthropic.com/v1/messages"});
  if (!response) std::cerr << response.error().message;  // what happened and the fix; no secret
  if (!response) return 1;
  std::cout << "HTTP " << response->status << ", credential " << to_json(api.status()) << '\n';
  return 0;
}

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    // The constructor throws std::invalid_argument for an unusable credential or options.
    std::cerr << e.what() << '\n';
    return 1;
  }
}
