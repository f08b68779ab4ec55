// docs/async.md's example: coroutines on asio send through an AsyncCredential over
// transport::AsyncCurl; the expired access token is refreshed once for all of them.
//
// So that it runs anywhere, without a network, the provider is a stand-in on 127.0.0.1
// (cpp-httplib): an API that accepts only the access token its token endpoint issued last, and
// that token endpoint. keyward speaks plain http to a loopback host only (docs/http.md); an
// application points the credential at the provider's https URLs instead.
#include <httplib.h>

#include <asio.hpp>
#include <chrono>
#include <exception>
#include <iostream>
#include <keyward/async.hpp>
#include <keyward/keyward.hpp>
#include <keyward/transport/async_curl.hpp>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

// The stand-in provider: POST /v1/messages and POST /v1/oauth/token on 127.0.0.1.
class LocalProvider {
 public:
  LocalProvider() {
    server_.Post("/v1/messages", [this](const httplib::Request& request, httplib::Response& out) {
      const std::scoped_lock lock{mutex_};
      const bool accepted = request.get_header_value("authorization") == "Bearer " + access_;
      out.status = accepted ? 200 : 401;
      out.set_content(accepted ? R"({"type":"message","content":[{"type":"text","text":"Hi"}]})"
                               : R"({"type":"error","error":{"type":"authentication_error"}})",
                      "application/json");
    });
    server_.Post("/v1/oauth/token", [this](const httplib::Request&, httplib::Response& out) {
      const std::scoped_lock lock{mutex_};
      access_ = "sk-ant-oat01-local-access-token-" + std::to_string(++tokens_issued_);
      out.set_content(R"({"access_token":")" + access_ +
                          R"(","refresh_token":"sk-ant-ort01-local-refresh-token-next",)"
                          R"("expires_in":3600,"token_type":"Bearer"})",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread{[this] { server_.listen_after_bind(); }};
    while (!server_.is_running()) std::this_thread::yield();
  }
  LocalProvider(const LocalProvider&) = delete;
  LocalProvider& operator=(const LocalProvider&) = delete;
  LocalProvider(LocalProvider&&) = delete;
  LocalProvider& operator=(LocalProvider&&) = delete;
  ~LocalProvider() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int tokens_issued() {
    const std::scoped_lock lock{mutex_};
    return tokens_issued_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::string access_ = "none issued yet";
  int tokens_issued_ = 0;
};

using Api =
    keyward::ResilientCredential<keyward::transport::AsyncCurl, keyward::provider::Anthropic>;

int answered = 0;  // the coroutines all run on the one thread that runs the io_context

asio::awaitable<void> ask(
    keyward::AsyncCredential<keyward::transport::AsyncCurl, keyward::provider::Anthropic>& api,
    std::string messages_url, std::string body) {
  // A named Request, not a temporary inside the co_await: g++ 12 miscompiles the latter (the
  // request's strings end up pointing into the coroutine's frame; docs/async.md).
  keyward::Request request{
      .method = "POST", .url = std::move(messages_url), .body = std::move(body)};
  keyward::Result<keyward::Response> response =
      co_await api.async_send(std::move(request), asio::use_awaitable);
  if (!response) std::cerr << response.error().message << '\n';  // as send()'s: no secret
  if (response) std::cout << "HTTP " << response->status << ": " << response->body << '\n';
  if (response && response->status == 200) ++answered;
}

int run() {
  LocalProvider provider;  // stands in for api.anthropic.com and its token endpoint
  const std::string access_token = "sk-ant-oat01-example-access-token-abcd";
  const std::string refresh_token = "sk-ant-ort01-example-refresh-token-wxyz";
  const auto expires_at = std::chrono::system_clock::now() - std::chrono::minutes{1};  // expired
  const std::string token_url = provider.url("/v1/oauth/token");
  const std::string messages_url = provider.url("/v1/messages");
  const std::string body = R"({"model":"claude-sonnet-4-5","max_tokens":64})";

  asio::io_context io;
  Api credential{
      keyward::transport::AsyncCurl{io.get_executor()},
      keyward::Credential::oauth(access_token, refresh_token, expires_at),
      {.profile = "anthropic:work"},
      {.refresh = keyward::provider::Anthropic::oauth_refresh("my-client-id", token_url)}};
  keyward::AsyncCredential api{credential};  // completes on the transport's executor
  for (int i = 0; i < 3; ++i) asio::co_spawn(io, ask(api, messages_url, body), asio::detached);
  io.run();

  std::cout << answered << " of 3 answered; token calls: " << provider.tokens_issued() << '\n';
  return answered == 3 && provider.tokens_issued() == 1 ? 0 : 1;
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
