// Redirects (detail/redirect.hpp): resolving Location, choosing the next hop, and, over real
// sockets with both transports, a credential that never leaves its origin whatever header
// carries it (authorization, x-api-key, x-goog-api-key).

#include "keyward/detail/redirect.hpp"

#include <gtest/gtest.h>

#include <string>

#include "keyward/detail/url_parts.hpp"

namespace keyward::detail {
namespace {

TEST(ResolveLocationTest, ResolvesTheFormsServersSend) {
  const std::string base = "https://api.example.test:8443/v1/messages?x=1#frag";
  EXPECT_EQ(resolve_location(base, "https://other.test/a"), "https://other.test/a");
  EXPECT_EQ(resolve_location(base, "//cdn.test/b"), "https://cdn.test/b");
  EXPECT_EQ(resolve_location(base, "/v2/messages"), "https://api.example.test:8443/v2/messages");
  EXPECT_EQ(resolve_location(base, "models"), "https://api.example.test:8443/v1/models");
  EXPECT_EQ(resolve_location(base, "?page=2"), "https://api.example.test:8443/v1/messages?page=2");
  EXPECT_EQ(resolve_location("http://h", "x"), "http://h/x");
  EXPECT_EQ(resolve_location(base, ""), std::nullopt);
  EXPECT_EQ(resolve_location(base, "ftp://files.test/x"), std::nullopt);
}

TEST(SplitUrlTest, TakesTheOriginApart) {
  const auto parts = split_url("HTTPS://API.Example.test/v1?q#f");
  EXPECT_EQ(split_url("https://user@api.example.test/"), std::nullopt);  // userinfo is refused
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->origin(), "https://api.example.test:443");
  EXPECT_EQ(parts->target, "/v1?q");
  EXPECT_EQ(split_url("http://[::1]:8080")->origin(), "http://[::1]:8080");
  EXPECT_EQ(split_url("http://h:99999/"), std::nullopt);
  EXPECT_EQ(split_url("http://h:x/"), std::nullopt);
  EXPECT_EQ(split_url("mailto:x@y"), std::nullopt);
  EXPECT_TRUE(same_origin("https://a.test/x", "https://A.test:443/y"));
  EXPECT_FALSE(same_origin("https://a.test/x", "http://a.test/x"));
  EXPECT_FALSE(same_origin("http://127.0.0.1:1/x", "http://localhost:1/x"));
}

Response redirect(int status, std::string location) {
  Response response{.status = status};
  response.headers.set("location", std::move(location));
  return response;
}

TEST(NextHopTest, HttpsIsNeverFollowedToHttp) {
  const Request request{.method = "GET", .url = "https://api.example.test/v1"};
  bool same = false;
  EXPECT_FALSE(next_hop(request, redirect(307, "http://api.example.test/v1"), same));
  EXPECT_TRUE(next_hop(request, redirect(307, "https://api.example.test/v2"), same));
  EXPECT_TRUE(same);
}

TEST(NextHopTest, A303AndAPostedFoundContinueAsAGetWithoutTheBody) {
  Request request{.method = "POST", .url = "https://a.test/v1", .body = "{}"};
  request.headers.set("content-type", "application/json");
  bool same = false;
  for (const int status : {301, 302, 303}) {
    const auto hop = next_hop(request, redirect(status, "/v2"), same);
    ASSERT_TRUE(hop);
    EXPECT_EQ(hop->method, "GET");
    EXPECT_TRUE(hop->body.empty());
    EXPECT_FALSE(hop->headers.contains("content-type"));
  }
  for (const int status : {307, 308}) {
    const auto hop = next_hop(request, redirect(status, "/v2"), same);
    ASSERT_TRUE(hop);
    EXPECT_EQ(hop->method, "POST");
    EXPECT_EQ(hop->body, "{}");
  }
  EXPECT_FALSE(next_hop(request, Response{.status = 304}, same));
  EXPECT_FALSE(next_hop(request, Response{.status = 302}, same));  // no Location
}

TEST(FollowRedirectsTest, StripsEveryPlacedFieldOnceTheOriginChangesAndNeverPutsItBack) {
  Request request{.method = "GET", .url = "https://a.test/v1"};
  request.headers.set("x-secret-key", "k");
  request.headers.set("x-custom", "kept");
  std::vector<Request> sent;
  const std::vector<std::string> placed{"x-secret-key"};
  const auto followed = follow_redirects(request, redirect(302, "https://a.test/v2"), placed, {},
                                         [&](const Request& hop) -> TransportResult {
                                           sent.push_back(hop);
                                           if (sent.size() == 1)
                                             return redirect(307, "https://b.test/x");
                                           if (sent.size() == 2)
                                             return redirect(307, "https://a.test/back");
                                           return Response{.status = 200};
                                         });
  ASSERT_EQ(sent.size(), 3U);
  EXPECT_TRUE(sent[0].headers.contains("x-secret-key"));  // same origin
  EXPECT_FALSE(sent[1].headers.contains("x-secret-key"));
  EXPECT_FALSE(sent[2].headers.contains("x-secret-key"));  // back on a.test: still without it
  EXPECT_TRUE(sent[2].headers.contains("x-custom"));
  EXPECT_EQ(followed.credentialed->status, 307);  // a.test/v2's answer: the credential's last
  ASSERT_TRUE(followed.foreign);
  EXPECT_EQ((*followed.foreign)->status, 200);
}

TEST(LeaveOriginTest, RemovesTheOriginBoundFieldsWhoeverSetThem) {
  Request request{.method = "GET", .url = "https://a.test/v1"};
  request.headers.set("Authorization", "Bearer app-token");
  request.headers.set("proxy-authorization", "Basic cHJveHk6cHc=");
  request.headers.set("COOKIE", "session=s3cr3t");
  request.headers.set("x-placed", "k");
  request.headers.set("x-custom", "kept");
  Request next = request;
  next.url = "https://b.test/x";
  const std::vector<std::string> placed{"x-placed"};
  EXPECT_EQ(leave_origin(next, request, 302, placed), std::nullopt);
  for (const char* name : {"authorization", "proxy-authorization", "cookie", "x-placed"}) {
    EXPECT_FALSE(next.headers.contains(name)) << name;
  }
  EXPECT_TRUE(next.headers.contains("x-custom"));
}

TEST(LeaveOriginTest, RefusesAHeaderMarkedSensitiveNamingItButNotItsValue) {
  Request request{.method = "GET", .url = "https://a.test/v1?key=q"};
  request.headers.set("X-App-Secret", "app-secret-value");
  request.sensitive = {"x-app-secret"};
  Request next = request;
  next.url = "https://b.test:8443/x";
  const auto refused = leave_origin(next, request, 302, {});
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("'x-app-secret'"), std::string::npos) << *refused;
  EXPECT_NE(refused->find("https://a.test:443"), std::string::npos) << *refused;
  EXPECT_NE(refused->find("https://b.test:8443"), std::string::npos) << *refused;
  EXPECT_EQ(refused->find("app-secret-value"), std::string::npos) << *refused;
  EXPECT_EQ(refused->find("key=q"), std::string::npos) << *refused;
  // Marked but absent: nothing is needed, the hop goes.
  next.headers.erase("x-app-secret");
  EXPECT_EQ(leave_origin(next, request, 302, {}), std::nullopt);
}

TEST(LeaveOriginTest, RefusesToSendTheBodyElsewhereUnlessAllowed) {
  Request request{.method = "POST", .url = "https://a.test/v1", .body = "{\"secret\":1}"};
  Request next = request;
  next.url = "https://b.test/x";
  const auto refused = leave_origin(next, request, 308, {});
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("body"), std::string::npos) << *refused;
  EXPECT_NE(refused->find("308"), std::string::npos) << *refused;
  EXPECT_EQ(refused->find("secret"), std::string::npos) << *refused;
  next.body_to_other_origin = true;
  EXPECT_EQ(leave_origin(next, request, 308, {}), std::nullopt);
  EXPECT_EQ(next.body, request.body);
}

TEST(FollowRedirectsTest, ARefusedHopIsNeverSent) {
  Request request{.method = "POST", .url = "https://a.test/v1", .body = "{}"};
  int sends = 0;
  const auto followed = follow_redirects(request, redirect(307, "https://a.test/v2"), {}, {},
                                         [&](const Request&) -> TransportResult {
                                           ++sends;
                                           return redirect(307, "https://b.test/x");
                                         });
  EXPECT_EQ(sends, 1);  // a.test/v2 only
  ASSERT_TRUE(followed.refused);
  EXPECT_FALSE(followed.foreign);
  EXPECT_EQ(followed.credentialed->status, 307);
}

TEST(FollowRedirectsTest, StopsAfterMaxHops) {
  const Request request{.method = "GET", .url = "https://a.test/v1"};
  int sends = 0;
  const auto followed = follow_redirects(request, redirect(302, "/loop"), {}, {.max_hops = 3},
                                         [&](const Request&) -> TransportResult {
                                           ++sends;
                                           return redirect(302, "/loop");
                                         });
  EXPECT_EQ(sends, 3);
  EXPECT_EQ(followed.credentialed->status, 302);
}

}  // namespace
}  // namespace keyward::detail

#ifdef KEYWARD_TEST_HTTPLIB

#include "keyward/provider/anthropic.hpp"
#include "keyward/provider/google.hpp"
#include "keyward/resilient_credential.hpp"
#include "support/http_servers.hpp"
#include "support/transports.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;

template <class T>
class RedirectOverHttpTest : public ::testing::Test {
 protected:
  // The origin the credential is for, and another one a redirect points to.
  ProviderServer home;
  ProviderServer elsewhere;

  // Sends through `home`, which redirects to `target`; returns what the caller got.
  template <class Policies>
  Result<Response> send_redirected(Credential credential, const std::string& target,
                                   int status = 307) {
    home.fault(Route::api, {.kind = Fault::Kind::redirect, .status = status, .location = target});
    ResilientCredential<T, Policies> api{
        make_transport<T>(), std::move(credential), {.profile = "test"}};
    Request request{.method = "POST", .url = home.api_url(), .body = R"({"model":"m"})"};
    request.body_to_other_origin = true;  // what these tests check is the credential's fields
    request.headers.set("content-type", "application/json");
    request.headers.set("x-request-tag", "kept");
    return api.send(request);
  }

  void expect_stripped_across_origins(const std::vector<std::string>& placed) {
    const auto at_home = home.received();
    const auto away = elsewhere.received();
    ASSERT_EQ(at_home.size(), 1U);
    ASSERT_EQ(away.size(), 1U);
    for (const auto& name : placed) {
      EXPECT_EQ(at_home[0].headers.count(name), 1U) << name;
      EXPECT_EQ(away[0].headers.count(name), 0U) << name << " reached another origin";
    }
    EXPECT_EQ(away[0].headers.count("x-request-tag"), 1U);
    EXPECT_EQ(away[0].body, R"({"model":"m"})");  // 307 keeps the method and body
  }
};

TYPED_TEST_SUITE(RedirectOverHttpTest, TransportTypes, TransportNames);

TYPED_TEST(RedirectOverHttpTest, TheTransportItselfNeverFollows) {
  this->home.fault(
      Route::api,
      {.kind = Fault::Kind::redirect, .status = 302, .location = this->elsewhere.api_url()});
  auto transport = make_transport<TypeParam>();
  auto response = transport.send(Request{.method = "POST", .url = this->home.api_url()});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 302);
  EXPECT_TRUE(this->elsewhere.received().empty());
}

TYPED_TEST(RedirectOverHttpTest, XApiKeyNeverReachesAnotherOrigin) {
  this->elsewhere.fault(Route::api, {.status = 200, .body = R"({"from":"elsewhere"})"});
  auto response = this->template send_redirected<provider::Anthropic>(
      Credential::api_key(this->home.api_key()), this->elsewhere.api_url());
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, R"({"from":"elsewhere"})");
  this->expect_stripped_across_origins({"x-api-key", "anthropic-version"});
}

TYPED_TEST(RedirectOverHttpTest, AuthorizationNeverReachesAnotherOrigin) {
  this->elsewhere.fault(Route::api, {.status = 200, .body = R"({"from":"elsewhere"})"});
  auto [access, refresh] = this->home.login();
  auto response = this->template send_redirected<provider::Anthropic>(
      Credential::oauth(access, refresh, SystemClock{}.now() + 1h), this->elsewhere.api_url());
  ASSERT_TRUE(response) << response.error().message;
  this->expect_stripped_across_origins({"authorization", "anthropic-beta", "anthropic-version"});
}

TYPED_TEST(RedirectOverHttpTest, XGoogApiKeyNeverReachesAnotherOrigin) {
  this->elsewhere.fault(Route::api, {.status = 200, .body = R"({"from":"elsewhere"})"});
  auto response = this->template send_redirected<provider::Google>(
      Credential::api_key("AIzaSyD-test-key-0000000000000000000000"), this->elsewhere.api_url());
  ASSERT_TRUE(response) << response.error().message;
  this->expect_stripped_across_origins({"x-goog-api-key"});
}

TYPED_TEST(RedirectOverHttpTest, AnotherNameForTheSameServerIsAnotherOrigin) {
  // localhost and 127.0.0.1 are the same machine but not the same origin either.
  const std::string other =
      "http://localhost:" + std::to_string(this->home.port()) + "/v1/messages";
  this->home.fault(Route::api, {.kind = Fault::Kind::redirect, .status = 307, .location = other});
  this->home.fault(Route::api, {.status = 200, .body = R"({"from":"localhost"})"});
  ResilientCredential<TypeParam, provider::Anthropic> api{
      make_transport<TypeParam>(), Credential::api_key(this->home.api_key()), {.profile = "test"}};
  auto response = api.send(Request{.method = "POST", .url = this->home.api_url()});
  ASSERT_TRUE(response) << response.error().message;
  const auto received = this->home.received();
  ASSERT_EQ(received.size(), 2U);
  EXPECT_EQ(received[0].headers.count("x-api-key"), 1U);
  EXPECT_EQ(received[1].headers.count("x-api-key"), 0U);
}

TYPED_TEST(RedirectOverHttpTest, TheSameOriginGetsTheCredentialAgain) {
  auto response = this->template send_redirected<provider::Anthropic>(
      Credential::api_key(this->home.api_key()), this->home.origin() + "/v1/messages?moved=1");
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);  // the API checked the key on the second request
  const auto received = this->home.received();
  ASSERT_EQ(received.size(), 2U);
  EXPECT_EQ(received[1].headers.count("x-api-key"), 1U);
  EXPECT_TRUE(this->elsewhere.received().empty());
}

}  // namespace
}  // namespace keyward::testing

#endif  // KEYWARD_TEST_HTTPLIB
