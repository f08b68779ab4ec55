// provider::Rfc6750: Bearer placement, a health request to the application's URL, the generic
// pre-flight checks, and the bundle reading a challenge from a later WWW-Authenticate field.
#include "keyward/provider/rfc6750.hpp"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "keyward/resilient_credential.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"

namespace keyward::provider {
namespace {

static_assert(std::is_same_v<Rfc6750::Classifier, classify::Rfc6750>);
static_assert(std::is_same_v<Rfc6750::Attach, BearerAttacher>);
static_assert(std::is_same_v<Rfc6750::Preflight, preflight::Generic>);
static_assert(Rfc6750::tuning().base_url.empty());

TEST(Rfc6750PolicyTest, HealthRequestIsAGetOfTheNamedUrlUnchanged) {
  const Request r = Rfc6750::health_request("https://api.example.test/v1/me/");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://api.example.test/v1/me/");
}

TEST(Rfc6750PolicyTest, PreflightIsTheGenericOne) {
  const auto findings = Rfc6750::Preflight{}.validate(
      Credential::bearer("Bearer Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3"), TimePoint{testing::kFixtureNow});
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings.back().code, "doubled_bearer");
}

struct TestRfc6750 : Rfc6750 {
  using Clock = testing::FakeClock;
  using Sleeper = testing::RecordingSleeper;
};
using Rfc6750RC = ResilientCredential<testing::FakeTransport, TestRfc6750>;

TEST(Rfc6750PolicyTest, InsufficientScopeInALaterFieldReturnsTheResponseAndKeepsTheCredential) {
  const testing::FakeTransport transport;
  transport.on("https://api.example.test/", [](const Request& request) {
    if (request.url.ends_with("/admin")) {
      return testing::response(
          403, "",
          {{"www-authenticate", R"(Bearer realm="example")"},
           {"www-authenticate", R"(Bearer error="insufficient_scope", scope="admin")"}});
    }
    return testing::response(200, "{}");
  });
  const testing::FakeClock clock;
  Rfc6750RC api{transport,
                Credential::bearer("Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0"),
                {.profile = "api"},
                {.clock = clock, .sleeper = testing::RecordingSleeper{clock}}};
  const auto admin = api.send(Rfc6750::health_request("https://api.example.test/admin"));
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 403);
  const auto me = api.send(Rfc6750::health_request("https://api.example.test/me"));
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 200);
  EXPECT_EQ(transport.requests()[0].headers.get("authorization").value_or(""),
            "Bearer Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0");
}

}  // namespace
}  // namespace keyward::provider
