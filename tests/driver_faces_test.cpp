// The one request loop (detail/driver.hpp) through both of its faces: every test here runs
// against a ResilientCredential and against a CredentialPool of one profile, on the fake clock
// and a recording sleeper (no test sleeps or reads the real clock). What is about choosing among
// profiles stays in pool_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "keyward/pool.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/store/memory.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"
#include "support/recording_observer.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeTransport;
using testing::RecordingObserver;
using testing::RecordingSleeper;
using testing::response;

struct FacePolicies : DefaultPolicies {
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
  using Observer = RecordingObserver;
};

const std::string kApi = "https://api.example.test/v1/messages";
const std::string kKey = "sk-face-key-0123456789abcdefWXYZ";

// The single credential.
struct Single {
  using Subject = ResilientCredential<FakeTransport, FacePolicies>;
  static std::unique_ptr<Subject> make(const FakeTransport& transport, const FakeClock& clock,
                                       const RecordingSleeper& sleeper,
                                       const Credential& credential, store::Memory store = {}) {
    return std::make_unique<Subject>(
        transport, credential, CredentialOptions{.profile = "main", .jitter_seed = 7},
        Subject::Components{.store = std::move(store), .clock = clock, .sleeper = sleeper});
  }
  static std::unique_ptr<Subject> make_stored(const FakeTransport& transport,
                                              const FakeClock& clock, store::Memory store,
                                              const StoredCredential& loaded) {
    return std::make_unique<Subject>(
        transport, loaded, CredentialOptions{.profile = "main", .jitter_seed = 7},
        Subject::Components{.store = std::move(store), .clock = clock});
  }
  static Result<Response> send(Subject& subject, const Request& request) {
    return subject.send(request);
  }
  static Status status(const Subject& subject) { return subject.status(); }
};

// A pool of one profile, "main".
struct PoolOfOne {
  using Subject = CredentialPool<FakeTransport, FacePolicies>;
  static PoolOptions options() {
    PoolOptions options;
    options.provider = "example";
    options.credential.jitter_seed = 7;
    return options;
  }
  static std::unique_ptr<Subject> make(const FakeTransport& transport, const FakeClock& clock,
                                       const RecordingSleeper& sleeper,
                                       const Credential& credential, store::Memory store = {}) {
    std::vector<Subject::Profile> profiles;
    profiles.push_back({"main", credential, 1, std::move(store)});
    return std::make_unique<Subject>(transport, std::move(profiles), options(),
                                     Subject::Components{.clock = clock, .sleeper = sleeper});
  }
  static std::unique_ptr<Subject> make_stored(const FakeTransport& transport,
                                              const FakeClock& clock, store::Memory store,
                                              const StoredCredential& loaded) {
    std::vector<Subject::StoredProfile> profiles;
    profiles.push_back({"main", loaded, 1, std::move(store)});
    return std::make_unique<Subject>(transport, std::move(profiles), options(),
                                     Subject::Components{.clock = clock});
  }
  static Result<Response> send(Subject& subject, const Request& request) {
    Request copy = request;
    return subject.send(copy);
  }
  static Status status(const Subject& subject) {
    return subject.status().profiles.front().credential;
  }
};

template <class Face>
class DriverFacesTest : public ::testing::Test {
 protected:
  FakeTransport transport;
  FakeClock clock;
  RecordingSleeper sleeper{clock};

  std::unique_ptr<typename Face::Subject> make() {
    return Face::make(transport, clock, sleeper, Credential::api_key(kKey));
  }
  static Request post() { return Request{.method = "POST", .url = kApi, .body = "{}"}; }
};

using Faces = ::testing::Types<Single, PoolOfOne>;
class FaceNames {
 public:
  template <class Face>
  static std::string GetName(int /*index*/) {
    return std::is_same_v<Face, Single> ? "Single" : "PoolOfOne";
  }
};
TYPED_TEST_SUITE(DriverFacesTest, Faces, FaceNames);

TYPED_TEST(DriverFacesTest, OverloadAndServerErrorsAreRetriedWithoutCoolingTheCredential) {
  // A GET: a POST is sent again only when the server cannot have processed it (docs/retries.md).
  const Request get{.method = "GET", .url = kApi};
  for (const int status : {529, 500, 502, 503}) {
    FakeTransport fresh;
    FakeClock at;
    RecordingSleeper waits{at};
    fresh.on(kApi, [&](const Request&) { return response(status); });
    auto subject = TypeParam::make(fresh, at, waits, Credential::api_key(kKey));

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
  auto subject = TypeParam::make_stored(this->transport, this->clock, store, loaded);
  ASSERT_TRUE(TypeParam::send(*subject, this->post()));
  EXPECT_EQ(newer_seen.load(), 1);
  EXPECT_EQ(store.load()->generation, 2U);  // nothing written over it
}

}  // namespace
}  // namespace keyward
