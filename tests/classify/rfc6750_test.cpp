// classify::Rfc6750: every generic and token fixture, then WWW-Authenticate in all its shapes:
// several challenges in one field, several fields, challenges that outrank the body, DPoP, and
// 401s that offer no Bearer scheme at all.
#include "keyward/classify/rfc6750.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "classify/fixture_expectations.hpp"
#include "support/fake_clock.hpp"
#include "support/fixtures.hpp"

namespace keyward::classify {
namespace {

using namespace std::chrono_literals;
using testing::Fixture;

class Rfc6750FixtureTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(Rfc6750FixtureTest, GetsTheExpectedVerdict) {
  const Fixture& f = GetParam();
  testing::expect_fixture_verdict(f, Rfc6750{}.classify(f.response, testing::context_of(f)));
}

std::vector<Fixture> fixtures() { return testing::load_fixtures({"generic", "token"}); }

INSTANTIATE_TEST_SUITE_P(Fixtures, Rfc6750FixtureTest, ::testing::ValuesIn(fixtures()),
                         testing::fixture_test_name);

TEST(Rfc6750FixtureSetTest, HasEveryGenericAndTokenFixture) { EXPECT_EQ(fixtures().size(), 10U); }

Verdict classify(int status, Headers headers, std::string body = {},
                 Endpoint endpoint = Endpoint::api) {
  return Rfc6750{}.classify(Response{status, std::move(headers), std::move(body)},
                            {.endpoint = endpoint,
                             .now = TimePoint{testing::kFixtureNow},
                             .credential = CredentialKind::oauth});
}

TEST(Rfc6750Test, FindsTheErrorChallengeAmongSeveralInOneField) {
  const Verdict v = classify(
      401,
      {{"www-authenticate",
        R"(Basic realm="api", Bearer realm="api", error="invalid_token", error_description="The access token expired", DPoP algs="ES256")"}});
  EXPECT_EQ(v.kind, VerdictKind::unauthenticated);
  EXPECT_EQ(v.provider_code, "invalid_token");
  EXPECT_EQ(v.message, "The access token expired");
}

TEST(Rfc6750Test, FindsTheErrorChallengeInALaterField) {
  // The generic classifier reads only the first field; an RFC 6750 API may split challenges.
  const Verdict v = classify(403, {{"www-authenticate", R"(Bearer realm="api")"},
                                   {"www-authenticate", R"(Bearer error="insufficient_scope")"}});
  EXPECT_EQ(v.kind, VerdictKind::forbidden);
  EXPECT_EQ(v.provider_code, "insufficient_scope");
}

TEST(Rfc6750Test, SkipsAMalformedFieldAndReadsTheNext) {
  const Verdict v = classify(401, {{"www-authenticate", R"(Bearer error="unterminated)"},
                                   {"www-authenticate", R"(Bearer error="invalid_token")"}});
  EXPECT_EQ(v.provider_code, "invalid_token");
}

TEST(Rfc6750Test, ChallengeOutranksTheBody) {
  const Verdict v = classify(401, {{"www-authenticate", R"(Bearer error="insufficient_scope")"}},
                             R"({"error":{"code":"quota_exceeded","message":"body says"}})");
  EXPECT_EQ(v.kind, VerdictKind::forbidden);
  EXPECT_EQ(v.scope, Scope::request);
  EXPECT_EQ(v.provider_code, "insufficient_scope");
}

TEST(Rfc6750Test, InsufficientScopeSaysWhichScopeToAskFor) {
  const Verdict v = classify(
      403, {{"www-authenticate", R"(Bearer error="insufficient_scope", scope="files:write")"}});
  EXPECT_NE(v.fix.find("\"files:write\""), std::string::npos) << v.fix;
}

TEST(Rfc6750Test, InvalidRequestIsARequestError) {
  EXPECT_EQ(classify(400, {{"www-authenticate", R"(Bearer error="invalid_request")"}}).kind,
            VerdictKind::request_error);
}

TEST(Rfc6750Test, A401OfferingNoBearerSchemeIsMisconfigured) {
  const Verdict v = classify(401, {{"www-authenticate", R"(Basic realm="legacy", Negotiate)"}});
  EXPECT_EQ(v.kind, VerdictKind::misconfigured);
  EXPECT_EQ(v.scope, Scope::credential);
  EXPECT_NE(v.fix.find("Basic, Negotiate"), std::string::npos) << v.fix;
}

TEST(Rfc6750Test, A401WithABearerChallengeButNoErrorIsARejection) {
  EXPECT_EQ(classify(401, {{"www-authenticate", R"(Bearer realm="api")"}}).kind,
            VerdictKind::unauthenticated);
  EXPECT_EQ(classify(401, {}).kind, VerdictKind::unauthenticated);
}

TEST(Rfc6750Test, DpopErrorsAreReadToo) {
  const Verdict proof =
      classify(401, {{"www-authenticate", R"(DPoP error="invalid_dpop_proof", algs="ES256")"}});
  EXPECT_EQ(proof.kind, VerdictKind::misconfigured);
  EXPECT_NE(proof.fix.find("DPoP"), std::string::npos);
  const Verdict nonce = classify(401, {{"www-authenticate", R"(DPoP error="use_dpop_nonce")"}});
  EXPECT_EQ(nonce.kind, VerdictKind::transient);
  EXPECT_TRUE(nonce.retryable);
  EXPECT_EQ(classify(401, {{"www-authenticate", R"(DPoP error="invalid_token")"}}).kind,
            VerdictKind::unauthenticated);
}

TEST(Rfc6750Test, UnknownChallengeErrorsLeaveTheGenericReading) {
  const Verdict v =
      classify(429, {{"www-authenticate", R"(Bearer error="slow_down")"}, {"retry-after", "4"}});
  EXPECT_EQ(v.kind, VerdictKind::rate_limited);
  EXPECT_EQ(*v.retry_after, 4s);
}

TEST(Rfc6750Test, TokenEndpointsAreReadAsRfc6749) {
  EXPECT_EQ(classify(400, {}, R"({"error":"invalid_grant"})", Endpoint::token).kind,
            VerdictKind::unauthenticated);
  EXPECT_EQ(classify(400, {}, R"({"error":"invalid_scope"})", Endpoint::token).kind,
            VerdictKind::misconfigured);
}

}  // namespace
}  // namespace keyward::classify
