// The shipped transports and URLs and proxies (docs/http.md): a URL whose authority parsers could
// read differently is refused before anything is sent, and the environment's proxy variables are
// ignored unless the application chooses them; a plain http request never goes through a proxy
// that is not on loopback. Real servers on 127.0.0.1: one plays the origin, one the proxy.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/http_servers.hpp"
#include "support/transports.hpp"

#ifdef KEYWARD_TEST_ASYNC_CURL
#include <asio/io_context.hpp>
#include <chrono>

#include "keyward/transport/async_curl.hpp"
#endif

namespace keyward::testing {
namespace {

// Sets the environment variables for the test's lifetime and restores them after.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::vector<std::pair<std::string, std::string>> values) {
    for (auto& [name, value] : values) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace_back(name, old == nullptr ? std::nullopt : std::optional<std::string>{old});
      ::setenv(name.c_str(), value.c_str(), 1);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ScopedEnv(ScopedEnv&&) = delete;
  ScopedEnv& operator=(ScopedEnv&&) = delete;
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

template <class T>
class UrlAndProxyTest : public ::testing::Test {
 protected:
  ProviderServer origin;
  ProviderServer proxy;

  Request credentialed(std::string url) {
    return Request{.method = "POST",
                   .url = std::move(url),
                   .headers = {{"authorization", "Bearer proxy-test-secret"}}};
  }
  [[nodiscard]] bool proxy_contacted() const { return !proxy.received().empty(); }
};

TYPED_TEST_SUITE(UrlAndProxyTest, TransportTypes, TransportNames);

TYPED_TEST(UrlAndProxyTest, TheEnvironmentsProxyVariablesAreIgnoredByDefault) {
  const std::string at = this->proxy.origin();
  const ScopedEnv env{{{"http_proxy", at},
                       {"HTTPS_PROXY", at},
                       {"ALL_PROXY", at},
                       {"all_proxy", at},
                       {"no_proxy", ""},
                       {"NO_PROXY", ""}}};
  auto transport = make_transport<TypeParam>();
  const auto response = transport.send(this->credentialed(this->origin.api_url()));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_FALSE(this->proxy_contacted());
  EXPECT_EQ(this->origin.received().size(), 1U);
}

TYPED_TEST(UrlAndProxyTest, PlainHttpIsNotSentThroughAProxyOffLoopback) {
  auto options = test_http_options();
  options.proxy = transport::Proxy::at("http://192.0.2.1:3128");
  auto transport = make_transport<TypeParam>(options);
  const auto response = transport.send(this->credentialed(this->origin.api_url()));
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().message.find("refused proxy"), std::string::npos)
      << response.error().message;
  EXPECT_TRUE(this->origin.received().empty());
}

TYPED_TEST(UrlAndProxyTest, ABackslashBeforeThePathIsRefusedAndNothingIsSent) {
  auto transport = make_transport<TypeParam>();
  // libcurl read "127.0.0.1:<port>\" as userinfo and connected to the host after the '@'.
  const std::string url = "http://127.0.0.1:" + std::to_string(this->proxy.port()) + "\\@" +
                          "127.0.0.1:" + std::to_string(this->origin.port()) + "/v1/messages";
  const auto response = transport.send(this->credentialed(url));
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().message.find("backslash"), std::string::npos)
      << response.error().message;
  EXPECT_TRUE(this->origin.received().empty());
  EXPECT_FALSE(this->proxy_contacted());
}

#ifdef KEYWARD_TEST_CURL
TEST(CurlProxyTest, AProxyOnLoopbackChosenFromTheEnvironmentIsUsed) {
  ProviderServer origin;
  ProviderServer proxy;
  const std::string at = proxy.origin();
  const ScopedEnv env{{{"http_proxy", at}, {"no_proxy", ""}, {"NO_PROXY", ""}}};
  auto options = test_http_options();
  options.proxy = transport::Proxy::from_environment();
  transport::Curl transport{options};
  const auto response = transport.send(Request{.method = "GET", .url = origin.api_url()});
  // The proxy (a server that routes no absolute-form target) answered; the origin saw nothing.
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 404);
  EXPECT_TRUE(origin.received().empty());
}
#endif

#ifdef KEYWARD_TEST_ASYNC_CURL
// AsyncCurl keeps its verdict on a URL it saw last, but not the proxy the environment names: that
// is read again for every request, as transport::Curl reads it.
TEST(AsyncCurlProxyTest, TheEnvironmentsProxyIsReadAgainForARepeatedUrl) {
  ProviderServer origin;
  ProviderServer proxy;
  const std::vector<std::pair<std::string, std::string>> unset{
      {"http_proxy", ""}, {"all_proxy", ""}, {"ALL_PROXY", ""}, {"no_proxy", ""}, {"NO_PROXY", ""}};
  const ScopedEnv none{unset};
  auto options = test_http_options();
  options.proxy = transport::Proxy::from_environment();
  asio::io_context io;
  transport::AsyncCurl transport{io.get_executor(), options};
  const Request request{.method = "GET", .url = origin.origin() + "/v1/models"};
  const auto send = [&] {
    std::optional<TransportResult> out;
    transport.async_send(request, [&](TransportResult result) {
      out.emplace(std::move(result));
      io.stop();
    });
    io.restart();
    io.run_for(std::chrono::seconds{2});
    return out;
  };
  const auto direct = send();
  ASSERT_TRUE(direct && *direct) << (direct ? direct->error().message : "no answer");
  EXPECT_EQ(origin.received().size(), 1U);
  const ScopedEnv through{{{"http_proxy", proxy.origin()}}};
  const auto proxied = send();
  // The proxy (a server that routes no absolute-form target) answered; the origin saw no more.
  ASSERT_TRUE(proxied && *proxied) << (proxied ? proxied->error().message : "no answer");
  EXPECT_EQ((*proxied)->status, 404);
  EXPECT_EQ(origin.received().size(), 1U);
}
#endif

}  // namespace
}  // namespace keyward::testing
