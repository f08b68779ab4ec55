// ResilientCredential's own API, against a fake transport and a fake clock: what only a single
// credential has. Its behaviour (refresh, cooldowns, retries, redirects, replacement, status) is
// the driver's, and runs against both faces in tests/driver/*_test.cpp.
#include "keyward/resilient_credential.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"
#include "support/policies.hpp"
#include "support/recording_observer.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeTransport;
using testing::RecordingObserver;
using testing::RecordingSleeper;
using testing::response;

using testing::ObservedPolicies;
using StaticCredentialRC = ResilientCredential<FakeTransport, ObservedPolicies>;

const std::string kApi{"https://api.example.test/v1/messages"};
const std::string kApiKey = "sk-test-key-0123456789abcdefWXYZ";

Request api_request() {
  return Request{.method = "POST", .url = kApi, .headers = {}, .body = "{}"};
}

std::unique_ptr<StaticCredentialRC> make_static(const FakeTransport& transport, FakeClock clock) {
  return std::make_unique<StaticCredentialRC>(
      transport, Credential::api_key(kApiKey),
      StaticCredentialRC::Options{.profile = "static", .jitter_seed = 7},
      StaticCredentialRC::Components{.clock = clock, .sleeper = RecordingSleeper{clock}});
}

// Its constructor overloads are its own API (the pool's:
// PoolTest.RefusesUnusableProfilesAndOptions).
TEST(ResilientCredentialTest, ConstructorRejectsUnusableCredentialsAndOptions) {
  FakeTransport transport;
  EXPECT_THROW(StaticCredentialRC(transport, Credential::api_key("")), std::invalid_argument);
  EXPECT_THROW(StaticCredentialRC(transport, Credential::api_key("Bearer sk-test-0123456789")),
               std::invalid_argument);
  EXPECT_THROW(
      StaticCredentialRC(transport, Credential::api_key(kApiKey), {.retry = {.max_attempts = 0}}),
      std::invalid_argument);
}

// with_current() is its own API (the pool chooses a profile first: with_chosen(), pool_test.cpp).
TEST(ResilientCredentialTest, WithCurrentReadsTheLatestCredentialAndState) {
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [](const Request&) { return response(429, "", {{"retry-after", "20"}}); });
  auto rc = make_static(transport, clock);
  using Current = StaticCredentialRC::Current;
  const auto token = [&] {
    return rc->with_current(
        [](const Current& c) { return std::string{c.credential.token.reveal()}; });
  };
  const auto state = [&] { return rc->with_current([](const Current& c) { return c.state; }); };
  EXPECT_EQ(token(), kApiKey);
  EXPECT_EQ(state(), CredentialState::ready);
  ASSERT_FALSE(rc->send(api_request()));
  EXPECT_EQ(state(), CredentialState::cooling);
  EXPECT_EQ(rc->with_current([](const Current& c) { return c.until; }), clock.now() + 20s);
  ASSERT_TRUE(rc->set_credential(Credential::api_key("sk-test-key-replacement-0001")));
  EXPECT_EQ(token(), "sk-test-key-replacement-0001");
  EXPECT_EQ(rc->with_current([](const Current& c) { return c.generation; }), 2U);
  EXPECT_EQ(state(), CredentialState::ready);
}

}  // namespace
}  // namespace keyward
