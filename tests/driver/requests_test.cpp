// The driver's request loop through both faces (tests/driver/faces.hpp): provider-scoped
// failures and retries, transport failures, answers returned as data, secrets, plain HTTP,
// redirects and a credential built from its store.
#include <atomic>
#include <string>
#include <vector>

#include "driver/faces.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;

const std::string& kKey = kFaceKey;

TYPED_TEST(DriverFacesTest, OverloadAndServerErrorsAreRetriedWithoutCoolingTheCredential) {
  // A GET: a POST is sent again only when the server cannot have processed it (docs/retries.md).
  const Request get{.method = "GET", .url = kApi};
  for (const int status : {529, 500, 502, 503}) {
    FakeTransport fresh;
    FakeClock at;
    RecordingSleeper waits{at};
    fresh.on(kApi, [&](const Request&) { return response(status); });
    auto subject = TestFixture::make(fresh, at, waits, Credential::api_key(kKey));

    auto result = TypeParam::send(*subject, get);

    ASSERT_TRUE(result) << status;  // the last response is returned as data
    EXPECT_EQ(result->status, status);
    EXPECT_EQ(fresh.count(kApi), 3U) << status;
    ASSERT_EQ(waits.waits().size(), 2U);
    EXPECT_EQ(TypeParam::status(*subject).state, CredentialState::ready) << status;
    EXPECT_EQ(TypeParam::status(*subject).consecutive_failures, 0U);
  }
}

TYPED_TEST(DriverFacesTest, ServerWaitIsUsedForRetriesAndShouldRetryFalseStopsThem) {
  std::atomic<int> calls{0};
  this->transport.on(kApi, [&](const Request&) {
    if (++calls == 1) return response(503, "", {{"retry-after", "2"}});
    return response(529, "", {{"x-should-retry", "false"}});
  });
  auto subject = this->make();
  auto result = TypeParam::send(*subject, this->post());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 529);
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(this->sleeper.waits(), std::vector<std::chrono::milliseconds>{2000ms});
}

TYPED_TEST(DriverFacesTest, TransportFailuresEndInATransportError) {
  this->transport.on(kApi, [](const Request&) -> TransportResult {
    return unexpected(TransportFailure{TransportErrc::timeout, "timed out after 300 ms"});
  });
  auto subject = this->make();
  auto result = TypeParam::send(*subject, this->post());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::transport_failed);
  EXPECT_NE(result.error().message.find("not a credential problem"), std::string::npos);
  EXPECT_EQ(TypeParam::status(*subject).state, CredentialState::ready);
}

TYPED_TEST(DriverFacesTest, ForbiddenAndRequestErrorsAreReturnedAsData) {
  std::atomic<int> status{403};
  this->transport.on(kApi, [&](const Request&) { return response(status.load()); });
  auto subject = this->make();
  auto forbidden = TypeParam::send(*subject, this->post());
  ASSERT_TRUE(forbidden);
  EXPECT_EQ(forbidden->status, 403);
  status = 404;
  auto missing = TypeParam::send(*subject, this->post());
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(this->transport.count(kApi), 2U);
  EXPECT_EQ(TypeParam::status(*subject).state, CredentialState::ready);
}

TYPED_TEST(DriverFacesTest, ErrorsAndStatusNeverContainTheSecret) {
  this->transport.on(kApi, [](const Request&) { return response(401); });
  auto subject = this->make();
  auto result = TypeParam::send(*subject, this->post());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message.find(kKey), std::string::npos);
  EXPECT_EQ(to_json(TypeParam::status(*subject)).find(kKey), std::string::npos);
  EXPECT_EQ(TypeParam::status(*subject).fingerprint, "api_key sk-…WXYZ");
}

TYPED_TEST(DriverFacesTest, RefusesPlainHttpToRemoteHostsButAllowsLoopback) {
  this->transport.on("http://", [](const Request&) { return response(200); });
  auto subject = this->make();
  auto remote =
      TypeParam::send(*subject, Request{.method = "GET", .url = "http://api.example.test/v1"});
  ASSERT_FALSE(remote);
  EXPECT_EQ(remote.error().code, Errc::insecure_transport);
  EXPECT_EQ(this->transport.count("http://"), 0U);
  ASSERT_TRUE(
      TypeParam::send(*subject, Request{.method = "GET", .url = "http://127.0.0.1:8080/v1"}));
}

// A redirect on the request's origin is followed with the credential; its answer is the one
// recorded and returned.
TYPED_TEST(DriverFacesTest, ARedirectOnTheSameOriginIsFollowedWithTheCredential) {
  const std::string moved = "https://api.example.test/v2/messages";
  this->transport.on(kApi, [&](const Request&) {
    return response(307, "", {{"location", moved}});
  });
  this->transport.on(moved, [](const Request& r) {
    return response(r.headers.get("authorization") ? 200 : 401, "moved");
  });
  auto subject = this->make();
  auto result = TypeParam::send(*subject, this->post());
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "moved");
  EXPECT_EQ(this->transport.count(moved), 1U);
}

// A redirect to another origin is followed without the credential, and that origin's answer
// says nothing about the credential.
TYPED_TEST(DriverFacesTest, ARedirectToAnotherOriginNeverCarriesTheCredential) {
  const std::string away = "https://elsewhere.example.test/v1/messages";
  this->transport.on(kApi, [&](const Request&) { return response(302, "", {{"location", away}}); });
  std::atomic<int> with_credential{0};
  this->transport.on(away, [&](const Request& r) {
    if (r.headers.get("authorization")) ++with_credential;
    return response(401, "elsewhere");
  });
  auto subject = this->make();
  auto result = TypeParam::send(*subject, this->post());
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(result->body, "elsewhere");
  EXPECT_EQ(this->transport.count(away), 1U);
  EXPECT_EQ(with_credential.load(), 0);
  EXPECT_EQ(TypeParam::status(*subject).state, CredentialState::ready);  // not its verdict
}

// Built from what the store held: a newer generation another process stored since the load is
// the one used, not overwritten.
TYPED_TEST(DriverFacesTest, BuiltFromAStoreItUsesTheNewerStoredGeneration) {
  store::Memory store;
  ASSERT_TRUE(store.compare_and_swap(0, Credential::api_key(kKey)));
  const std::string newer = "sk-face-key-NEWER-456789abcdefWXYZ";
  std::atomic<int> newer_seen{0};
  this->transport.on(kApi, [&](const Request& r) {
    if (r.headers.get("authorization") == "Bearer " + newer) ++newer_seen;
    return response(200);
  });
  const StoredCredential loaded = *store.load();
  ASSERT_TRUE(store.compare_and_swap(loaded.generation, Credential::api_key(newer)));  // since
  auto subject = TypeParam::template build_stored<ObservedPolicies>(
      this->transport, loaded, {.profile = "main", .jitter_seed = 7}, {.clock = this->clock},
      store);
  ASSERT_TRUE(TypeParam::send(*subject, this->post()));
  EXPECT_EQ(newer_seen.load(), 1);
  EXPECT_EQ(store.load()->generation, 2U);  // nothing written over it
}

}  // namespace
}  // namespace keyward::testing
