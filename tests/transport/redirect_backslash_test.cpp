// A redirect whose Location hides another host behind a backslash (`https://host\@evil/`,
// `http://127.0.0.1:PORT\@other/`): libcurl reads the part before the '@' as a user name and
// connects to the host after it, so keyward refuses such a URL before any transport sees it
// (docs/http.md). Over real sockets with both transports: the redirect is refused, the error
// says why, and the other server never receives a request, let alone a credential.

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "keyward/detail/redirect.hpp"

#ifdef KEYWARD_TEST_HTTPLIB
#include "keyward/provider/anthropic.hpp"
#include "keyward/resilient_credential.hpp"
#include "support/http_servers.hpp"
#include "support/transports.hpp"
#endif

namespace keyward::testing {
namespace {

TEST(RefusedLocationTest, AnAmbiguousAuthorityIsRefusedAndNeverSent) {
  const Request request{.method = "GET", .url = "https://api.example.com/v1/models"};
  const std::array<std::string, 1> placed{"authorization"};
  for (const char* location :
       {"https://api.example.com\\@evil.example/", "//api.example.com\\@evil.example/x",
        "https://user@evil.example/", "HTTPS://api.example.com:0/"}) {
    SCOPED_TRACE(location);
    Response redirect{302, {}, {}};
    redirect.headers.set("location", location);
    int sent = 0;
    const auto followed = detail::follow_redirects(request, redirect, placed, {},
                                                   [&](const Request&) -> TransportResult {
                                                     ++sent;
                                                     return Response{200, {}, {}};
                                                   });
    EXPECT_EQ(sent, 0);
    ASSERT_TRUE(followed.refused);
    EXPECT_NE(
        followed.refused->find("redirect from https://api.example.com:443: its Location has "),
        std::string::npos)
        << *followed.refused;
    EXPECT_EQ(followed.refused->find("evil"), std::string::npos) << *followed.refused;
  }
}

TEST(RefusedLocationTest, OtherLocationsThatAreNotFollowedAreNotRefused) {
  const Request request{.method = "GET", .url = "https://api.example.com/v1/models"};
  for (const char* location : {"ftp://files.example/x", "mailto:a@b.example"}) {
    Response redirect{302, {}, {}};
    redirect.headers.set("location", location);
    EXPECT_FALSE(detail::refused_location(request, redirect)) << location;
  }
}

#ifdef KEYWARD_TEST_HTTPLIB

template <class T>
class RedirectBackslashTest : public ::testing::Test {
 protected:
  ProviderServer home;   // the origin the request is for
  ProviderServer other;  // the host the backslash trick points at
};

TYPED_TEST_SUITE(RedirectBackslashTest, TransportTypes, TransportNames);

TYPED_TEST(RedirectBackslashTest, ALocationWithABackslashBeforeAnAtIsRefused) {
  const std::string target = "127.0.0.1:" + std::to_string(this->other.port());
  const std::vector<std::string> locations{
      // Read by libcurl as user "127.0.0.1:PORT\" at the other server.
      "http://127.0.0.1:" + std::to_string(this->home.port()) + "\\@" + target + "/v1/messages",
      "https://api.example.com\\@" + target + "/v1/messages",
      "http://127.0.0.1\\@" + target + "/v1/messages",
  };
  this->other.fault(Route::api, {.status = 200, .body = R"({"from":"other"})", .times = 10});
  for (const int status : {302, 307}) {
    for (const std::string& location : locations) {
      SCOPED_TRACE(std::to_string(status) + " " + location);
      this->home.clear_faults();
      this->home.fault(Route::api,
                       {.kind = Fault::Kind::redirect, .status = status, .location = location});
      ResilientCredential<TypeParam, provider::Anthropic> api{
          make_transport<TypeParam>(),
          Credential::api_key(this->home.api_key()),
          {.profile = "test"}};
      Request request{.method = "POST", .url = this->home.api_url(), .body = "{}"};
      request.headers.set("Cookie", "session=cookie-secret-0123456789");

      auto response = api.send(request);

      ASSERT_FALSE(response) << response->status << " " << response->body;
      EXPECT_NE(response.error().message.find("backslash"), std::string::npos)
          << response.error().message;
      EXPECT_EQ(response.error().message.find(this->home.api_key()), std::string::npos);
      EXPECT_TRUE(this->other.received().empty()) << "the other server was reached";
    }
  }
  EXPECT_EQ(this->home.received().size(), 6U);  // one request each, never retried elsewhere
}

#endif  // KEYWARD_TEST_HTTPLIB

}  // namespace
}  // namespace keyward::testing
