// Exception safety as a tested property: whatever policy throws, wherever it throws, the
// exception reaches the caller and the next request proceeds. Never stuck probing, never stuck
// refreshing, and no spent refresh token redeemed twice (the fake server counts that).
//
// One parameterised suite: each case arranges a state, arms one fault, runs the call that hits it,
// and then checks the same recovery: the next request (after every window has passed, and a
// replacement where a person is needed anyway) succeeds.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "keyward/keyward.hpp"
#include "keyward/store/memory.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_oauth_server.hpp"
#include "support/fake_transport.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeOAuthServer;
using testing::FakeTransport;
using testing::RecordingSleeper;

const std::string kApi{testing::kApiUrl};
const std::string kToken{testing::kTokenUrl};

// Where the one armed fault fires.
enum class Point : std::uint8_t {
  none,
  api_transport,
  token_transport,
  classifier,
  attacher,
  observer,
  store,
  strategy,
  cooldown,
};

struct Fault : std::runtime_error {
  Fault() : std::runtime_error("injected fault") {}
};

// The armed point and, for the observer, the event it throws on; fires once.
struct Faults {
  std::atomic<Point> armed{Point::none};
  std::atomic<EventKind> event{EventKind::attempt};
  void fire(Point here) {
    Point expected = here;
    if (armed.compare_exchange_strong(expected, Point::none)) throw Fault{};
  }
};
using FaultsPtr = std::shared_ptr<Faults>;

struct ThrowingTransport {
  FakeTransport inner;
  FaultsPtr faults;
  TransportResult send(const Request& request) const {
    faults->fire(request.url.starts_with(kToken) ? Point::token_transport : Point::api_transport);
    return inner.send(request);
  }
};

struct ThrowingClassifier {
  classify::HttpStatus inner{};
  FaultsPtr faults = std::make_shared<Faults>();
  Verdict classify(const Response& response, const ClassifyContext& context) const {
    if (context.endpoint == Endpoint::api) faults->fire(Point::classifier);
    return inner.classify(response, context);
  }
  Verdict classify(const TransportFailure& failure) const { return inner.classify(failure); }
};

struct ThrowingAttacher {
  FaultsPtr faults = std::make_shared<Faults>();
  void attach(Request& request, const Credential& credential) const {
    faults->fire(Point::attacher);
    BearerAttacher{}.attach(request, credential);
  }
};

struct ThrowingCooldown {
  FaultsPtr faults = std::make_shared<Faults>();
  std::optional<std::chrono::milliseconds> on_failure(const Verdict& verdict,
                                                      std::uint32_t consecutive,
                                                      double jitter) const {
    faults->fire(Point::cooldown);
    return cooldown::ExponentialBackoff{}.on_failure(verdict, consecutive, jitter);
  }
};

struct ThrowingObserver {
  FaultsPtr faults = std::make_shared<Faults>();
  void on_event(const Event& event) const {
    if (event.kind == faults->event.load()) faults->fire(Point::observer);
  }
};

struct ThrowingStrategy {
  refresh::OAuth2RefreshToken inner;
  FaultsPtr faults = std::make_shared<Faults>();
  [[nodiscard]] bool refreshable(const Credential& credential) const {
    return inner.refreshable(credential);
  }
  template <Transport T>
  Result<RefreshOutcome> refresh(const Credential& credential, T& transport, TimePoint now) {
    faults->fire(Point::strategy);
    return inner.refresh(credential, transport, now);
  }
};

struct Policies : DefaultPolicies {
  using Classifier = ThrowingClassifier;
  using Refresh = ThrowingStrategy;
  using Cooldown = ThrowingCooldown;
  using Attach = ThrowingAttacher;
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
  using Observer = ThrowingObserver;
};
using Credentialed = ResilientCredential<ThrowingTransport, Policies>;

// A credential against FakeOAuthServer with every policy able to throw.
struct Rig {
  FakeTransport transport;
  FakeOAuthServer server{transport};
  FakeClock clock;
  FaultsPtr faults = std::make_shared<Faults>();
  std::unique_ptr<Credentialed> credential;

  Rig(std::optional<std::chrono::seconds> lifetime, bool durable) {
    const auto [access, refresh_token] = server.login();
    std::optional<TimePoint> expiry;
    if (lifetime) expiry = clock.now() + *lifetime;
    store::Memory store;
    if (durable) {
      auto shared = faults;
      store = store::Memory{[shared](const Credential&) -> Result<void> {
        shared->fire(Point::store);
        return {};
      }};
    }
    credential = std::make_unique<Credentialed>(
        ThrowingTransport{transport, faults}, Credential::oauth(access, refresh_token, expiry),
        CredentialOptions{.profile = "faults", .jitter_seed = 5},
        Credentialed::Components{
            .classifier = {.inner = {}, .faults = faults},
            .refresh = {.inner = refresh::OAuth2RefreshToken{{.token_url = kToken,
                                                              .client_id = "keyward-tests"}},
                        .faults = faults},
            .cooldown = {.faults = faults},
            .attach = {.faults = faults},
            .store = std::move(store),
            .clock = clock,
            .sleeper = RecordingSleeper{clock},
            .observer = {.faults = faults}});
  }
  Result<Response> send() const {
    return credential->send(Request{.method = "POST", .url = kApi, .headers = {}, .body = "{}"});
  }
  Result<void> relogin() const {
    const auto [access, refresh_token] = server.login();
    return credential->set_credential(Credential::oauth(access, refresh_token, std::nullopt));
  }
};

struct Case {
  std::string name;
  Point point;
  EventKind event = EventKind::attempt;  // for Point::observer
  std::optional<std::chrono::seconds> lifetime;
  bool durable = true;
  std::function<void(Rig&)> arrange = [](Rig&) {};
  std::function<void(Rig&)> act = [](Rig& rig) { static_cast<void>(rig.send()); };
};

void expire(Rig& rig) { rig.server.expire_access_tokens(); }
void rate_limit(Rig& rig) { rig.server.fail_next_api_request(429, 20); }
void cooled_then_window_over(Rig& rig) {
  rate_limit(rig);
  ASSERT_FALSE(rig.send());
  rig.clock.advance(20s);
}

std::vector<Case> cases() {
  using K = EventKind;
  std::vector<Case> all = {
      {.name = "transport_on_api_request", .point = Point::api_transport},
      {.name = "transport_during_a_probe",
       .point = Point::api_transport,
       .arrange = cooled_then_window_over},
      {.name = "transport_on_token_request", .point = Point::token_transport, .arrange = expire},
      {.name = "classifier", .point = Point::classifier},
      {.name = "classifier_during_a_probe",
       .point = Point::classifier,
       .arrange = cooled_then_window_over},
      {.name = "attacher_during_a_probe",
       .point = Point::attacher,
       .arrange = cooled_then_window_over},
      {.name = "persist_hook", .point = Point::store, .arrange = expire},
      {.name = "refresh_strategy", .point = Point::strategy, .arrange = expire},
      {.name = "cooldown_policy", .point = Point::cooldown, .arrange = rate_limit},
      {.name = "cooldown_policy_during_a_probe",
       .point = Point::cooldown,
       .arrange =
           [](Rig& rig) {
             cooled_then_window_over(rig);
             rate_limit(rig);
           }},
  };
  const auto observer = [](K kind, std::function<void(Rig&)> arrange,
                           std::optional<std::chrono::seconds> lifetime = {}, bool durable = true,
                           std::function<void(Rig&)> act = {}) {
    Case c{.name = "observer_on_" + std::string{to_string(kind)},
           .point = Point::observer,
           .event = kind,
           .lifetime = lifetime,
           .durable = durable,
           .arrange = std::move(arrange)};
    if (act) c.act = std::move(act);
    return c;
  };
  const auto nothing = [](Rig&) {};
  all.push_back(observer(K::attempt, nothing));
  all.push_back(observer(K::verdict, nothing));
  all.push_back(observer(K::retry, [](Rig& rig) { rig.server.fail_next_api_request(503, 0); }));
  all.push_back(observer(K::refresh_started, expire));
  all.push_back(observer(K::refresh_succeeded, expire));
  all.push_back(observer(K::rotation_persisted, expire));
  all.push_back(observer(K::rotation_not_persisted, expire, std::nullopt, false));
  all.push_back(observer(
      K::refresh_failed,
      [](Rig& rig) {
        rig.clock.advance(6min);  // past the soft threshold of a 10 min token
        rig.server.token_endpoint_status(503);
      },
      600s));
  all.push_back(observer(
      K::refresh_token_refused,
      [](Rig& rig) {
        rig.clock.advance(2h);  // past the half-life of a 3 h token, still valid
        rig.server.revoke_grant();
      },
      3h * 1));
  all.push_back(observer(K::cooldown_entered, rate_limit));
  all.push_back(observer(K::probe, cooled_then_window_over));
  all.push_back(observer(K::cooldown_left, cooled_then_window_over));
  all.push_back(observer(K::needs_reauth, [](Rig& rig) {
    expire(rig);
    rig.server.revoke_grant();
  }));
  all.push_back(observer(K::credential_replaced, nothing, std::nullopt, true,
                         [](Rig& rig) { static_cast<void>(rig.relogin()); }));
  return all;
}

class ExceptionSafetyTest : public ::testing::TestWithParam<Case> {};

TEST_P(ExceptionSafetyTest, TheExceptionReachesTheCallerAndTheNextRequestProceeds) {
  const Case& c = GetParam();
  Rig rig{c.lifetime, c.durable};
  c.arrange(rig);
  rig.faults->event = c.event;
  rig.faults->armed = c.point;

  EXPECT_THROW(c.act(rig), Fault);
  EXPECT_EQ(rig.faults->armed.load(), Point::none) << "the fault never fired";

  const Status after = rig.credential->status();
  EXPECT_NE(after.state, CredentialState::probing) << "stuck probing";
  EXPECT_NE(after.state, CredentialState::refreshing) << "stuck refreshing";

  // Recovery: once every window and backoff has passed (and a person has logged in again where
  // only a person can help), the next request goes through.
  rig.server.token_endpoint_status(0);
  rig.clock.advance(2h);
  auto next = rig.send();
  if (!next && next.error().code == Errc::needs_reauth) {
    ASSERT_TRUE(rig.relogin());
    next = rig.send();
  }
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(rig.credential->status().state, CredentialState::ready);
  EXPECT_EQ(rig.server.double_redemptions(), 0U) << "a spent refresh token was redeemed again";
}

INSTANTIATE_TEST_SUITE_P(EveryPolicy, ExceptionSafetyTest, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(ExceptionSafetyCoverageTest, EveryEventKindHasAnObserverCase) {
  std::vector<EventKind> covered;
  for (const Case& c : cases()) {
    if (c.point == Point::observer) covered.push_back(c.event);
  }
  for (int k = 0; k <= static_cast<int>(EventKind::refresh_token_refused); ++k) {
    const auto kind = static_cast<EventKind>(k);
    EXPECT_NE(std::find(covered.begin(), covered.end(), kind), covered.end()) << to_string(kind);
  }
}

}  // namespace
}  // namespace keyward
