// A redirect to another origin carries nothing secret (detail/redirect.hpp, docs/http.md): over
// real sockets with both transports, the other origin never receives Authorization,
// Proxy-Authorization, Cookie, a header marked in Request::sensitive, or a body a 307 or 308
// would send again; a redirect that would need the marked header or the body is refused with an
// error naming it; a redirect on the same origin keeps them all.

#ifdef KEYWARD_TEST_HTTPLIB

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keyward/provider/anthropic.hpp"
#include "keyward/resilient_credential.hpp"
#include "support/http_servers.hpp"
#include "support/transports.hpp"

namespace keyward::testing {
namespace {

// Places the key in x-api-key and leaves every other field alone, so that the application's own
// Authorization reaches the home origin (the shipped attachers replace it).
struct KeyAttacher {
  void attach(Request& request, const Credential& credential) const {
    request.headers.set("x-api-key", std::string{credential.token.reveal()});
  }
};
struct KeyOnly : provider::Anthropic {
  using Attach = KeyAttacher;
};

constexpr const char* kBody = R"({"model":"m","app_secret":"body-secret-0123456789"})";

template <class T>
class RedirectSecretsTest : public ::testing::Test {
 protected:
  ProviderServer home;       // the origin the request is for
  ProviderServer elsewhere;  // another origin a redirect names

  static std::string models(const ProviderServer& server) { return server.origin() + "/v1/models"; }

  // A request to `home` carrying the application's own secrets besides the credential: a GET of
  // the models list, or a POST to the messages API.
  Request request(std::string method = "GET", std::string body = {}) {
    const std::string url = method == "GET" ? models(home) : home.api_url();
    Request r{.method = std::move(method), .url = url, .body = std::move(body)};
    r.headers.set("Authorization", "Bearer app-token-0123456789");
    r.headers.set("Proxy-Authorization", "Basic cHJveHk6cHJveHktc2VjcmV0");
    r.headers.set("Cookie", "session=cookie-secret-0123456789");
    r.headers.set("x-request-tag", "kept");
    return r;
  }

  // Sends `r` through a credential for `home`, which first answers `status` to `location`.
  Result<Response> send(const Request& r, int status, const std::string& location) {
    home.fault(Route::api, {.kind = Fault::Kind::redirect, .status = status, .location = location});
    ResilientCredential<T, KeyOnly> api{
        make_transport<T>(), Credential::api_key(home.api_key()), {.profile = "test"}};
    return api.send(r);
  }

  // `elsewhere` got `count` requests, and none held anything secret.
  void expect_nothing_secret_elsewhere(std::size_t count = 1) {
    const auto away = elsewhere.received();
    ASSERT_EQ(away.size(), count);
    for (const auto& got : away) {
      for (const char* name :
           {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-app-secret"}) {
        EXPECT_EQ(got.headers.count(name), 0U) << name << " reached another origin";
      }
      EXPECT_EQ(got.headers.count("x-request-tag"), 1U);
    }
  }
};

TYPED_TEST_SUITE(RedirectSecretsTest, TransportTypes, TransportNames);

TYPED_TEST(RedirectSecretsTest, OriginBoundFieldsNeverReachAnotherOrigin) {
  const std::vector<int> statuses{301, 302, 303, 307, 308};
  this->elsewhere.fault(Route::api, {.status = 200,
                                     .body = R"({"from":"elsewhere"})",
                                     .times = static_cast<int>(statuses.size())});
  for (const int status : statuses) {
    SCOPED_TRACE(status);
    auto response = this->send(this->request(), status, this->models(this->elsewhere));
    ASSERT_TRUE(response) << response.error().message;
    EXPECT_EQ(response->body, R"({"from":"elsewhere"})");
    ASSERT_FALSE(this->home.received().empty());
    const auto at_home = this->home.received().back();  // the home origin got them all
    for (const char* name : {"authorization", "proxy-authorization", "cookie", "x-api-key"}) {
      EXPECT_EQ(at_home.headers.count(name), 1U) << name;
    }
  }
  this->expect_nothing_secret_elsewhere(statuses.size());
}

TYPED_TEST(RedirectSecretsTest, AHeaderMarkedSensitiveRefusesTheRedirectAndNamesIt) {
  Request r = this->request();
  r.headers.set("X-App-Secret", "app-secret-0123456789");
  r.sensitive = {"x-app-secret"};
  auto response = this->send(r, 302, this->models(this->elsewhere));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::redirect_refused);
  const std::string& message = response.error().message;
  EXPECT_NE(message.find("'x-app-secret'"), std::string::npos) << message;
  EXPECT_NE(message.find(this->elsewhere.origin()), std::string::npos) << message;
  for (const char* secret : {"app-secret-0123456789", "app-token-0123456789", "cookie-secret"}) {
    EXPECT_EQ(message.find(secret), std::string::npos) << message;
  }
  EXPECT_TRUE(this->elsewhere.received().empty());
  EXPECT_EQ(this->home.received().size(), 1U);
}

TYPED_TEST(RedirectSecretsTest, A307Or308BodyIsNotSentElsewhereWithoutConsent) {
  for (const int status : {307, 308}) {
    SCOPED_TRACE(status);
    auto response = this->send(this->request("POST", kBody), status, this->elsewhere.api_url());
    ASSERT_FALSE(response);
    EXPECT_EQ(response.error().code, Errc::redirect_refused);
    const std::string& message = response.error().message;
    EXPECT_NE(message.find("body"), std::string::npos) << message;
    EXPECT_NE(message.find("Request::body_to_other_origin"), std::string::npos) << message;
    EXPECT_EQ(message.find("body-secret"), std::string::npos) << message;
    EXPECT_TRUE(this->elsewhere.received().empty());
  }
}

TYPED_TEST(RedirectSecretsTest, AStreamedRequestIsRefusedTheSameWay) {
  this->home.fault(
      Route::api,
      {.kind = Fault::Kind::redirect, .status = 308, .location = this->elsewhere.api_url()});
  ResilientCredential<TypeParam, KeyOnly> api{
      make_transport<TypeParam>(), Credential::api_key(this->home.api_key()), {.profile = "test"}};
  Request r = this->request("POST", kBody);
  std::string streamed;
  auto response = api.send_stream(r, [&](std::string_view bytes) {
    streamed += bytes;
    return true;
  });
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::redirect_refused);
  EXPECT_TRUE(streamed.empty());
  EXPECT_TRUE(this->elsewhere.received().empty());
}

TYPED_TEST(RedirectSecretsTest, A307BodyGoesElsewhereOnlyWhenAllowedAndWithoutSecrets) {
  this->elsewhere.fault(Route::api, {.status = 200, .body = R"({"from":"elsewhere"})"});
  Request r = this->request("POST", kBody);
  r.body_to_other_origin = true;
  auto response = this->send(r, 307, this->elsewhere.api_url());
  ASSERT_TRUE(response) << response.error().message;
  this->expect_nothing_secret_elsewhere();
  EXPECT_EQ(this->elsewhere.received()[0].body, kBody);
  EXPECT_EQ(this->elsewhere.received()[0].method, "POST");
}

TYPED_TEST(RedirectSecretsTest, A303AfterAPostGoesElsewhereWithoutTheBody) {
  this->elsewhere.fault(Route::api, {.status = 200, .body = R"({"from":"elsewhere"})"});
  auto response = this->send(this->request("POST", kBody), 303, this->models(this->elsewhere));
  ASSERT_TRUE(response) << response.error().message;
  this->expect_nothing_secret_elsewhere();
  EXPECT_EQ(this->elsewhere.received()[0].method, "GET");
  EXPECT_TRUE(this->elsewhere.received()[0].body.empty());
}

TYPED_TEST(RedirectSecretsTest, TheSameOriginKeepsEverything) {
  for (const int status : {302, 307, 308}) {
    SCOPED_TRACE(status);
    Request r = this->request(status == 302 ? "GET" : "POST", status == 302 ? "" : kBody);
    r.headers.set("X-App-Secret", "app-secret-0123456789");
    r.sensitive = {"x-app-secret"};
    const std::string path = status == 302 ? "/v1/models" : "/v1/messages";
    auto response = this->send(r, status, this->home.origin() + path + "?moved=1");
    ASSERT_TRUE(response) << response.error().message;
    const auto at_home = this->home.received();
    ASSERT_GE(at_home.size(), 2U);
    const auto& second = at_home.back();
    EXPECT_EQ(second.path, path);
    for (const char* name :
         {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-app-secret"}) {
      EXPECT_EQ(second.headers.count(name), 1U) << name;
    }
    EXPECT_EQ(second.body, r.body);
  }
  EXPECT_TRUE(this->elsewhere.received().empty());
}

}  // namespace
}  // namespace keyward::testing

#endif  // KEYWARD_TEST_HTTPLIB
