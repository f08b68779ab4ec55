// Cooldown windows shared through OpenClaw's SQLite state (docs/openclaw.md, "Shared cooldowns"):
// store::OpenClaw reads and writes `usageStats.<profile>` of OpenClaw's runtime state
// (`authProfiles.state`, an agent's auth_profile_state) in OpenClaw's members, so that keyward
// processes and OpenClaw honour each other's windows. The databases have OpenClaw's own schema;
// real HTTP servers on 127.0.0.1 count the requests; the credential's clock is a FakeClock set to
// the real time (the windows are epoch ms).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "keyward/credential_store.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/store/openclaw.hpp"
#include "store/openclaw_fixture.hpp"
#include "support/fake_clock.hpp"

#ifdef KEYWARD_TEST_HTTPLIB
#include "store/cooldown_http_rig.hpp"
#endif

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;

std::int64_t ms_of(TimePoint at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

constexpr std::string_view kProfile = "anthropic:work";

class OpenClawCooldown : public OpenClawStateTest {
 protected:
  void SetUp() override {
    OpenClawStateTest::SetUp();
    put_shared(store_json("sk-ant-api03-KEY"));
  }

  // OpenClaw's store with one API-key profile (and another one).
  static std::string store_json(std::string_view key) {
    return R"({"version":1,"profiles":{"anthropic:work":{"type":"api_key","provider":"anthropic",)"
           R"("key":")" +
           std::string{key} +
           R"("},"openai:ci":{"type":"api_key","provider":"openai","key":"sk-proj-other"}}})";
  }

  [[nodiscard]] store::OpenClaw make() const {
    return store::OpenClaw{shared_, std::string{kProfile}};
  }

  // OpenClaw's state with `entry` as the profile's usageStats entry, among other members.
  static std::string state_with(std::string_view entry) {
    return R"({"version":1,"order":{"anthropic":["anthropic:work"]},)"
           R"("lastGood":{"anthropic":"anthropic:work"},"usageStats":{)"
           R"("openai:ci":{"lastUsed":1767225600000,"errorCount":0},"anthropic:work":)" +
           std::string{entry} + R"(},"futureMember":[1,{"x":null}]})";
  }

  TimePoint now_ = std::chrono::time_point_cast<std::chrono::milliseconds>(SystemClock{}.now());
};

// --- the store: OpenClaw's members and reasons -------------------------------------------------

TEST_F(OpenClawCooldown, ARateLimitIsWrittenAsCooldownUntilAndReasonKeepingEveryOtherMember) {
  put_state(state_with(R"({"lastUsed":1767225600000,"errorCount":2,"cooldownModel":"m"})"));
  auto shared = make().share_cooldown({1, VerdictKind::rate_limited, now_ + 30s});
  ASSERT_TRUE(shared) << shared.error().message;
  EXPECT_EQ(state_json(),
            state_with(R"({"lastUsed":1767225600000,"errorCount":2,"cooldownUntil":)" +
                       std::to_string(ms_of(now_ + 30s)) + R"(,"cooldownReason":"rate_limit"})"));
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window && *window);
  EXPECT_EQ((*window)->reason, VerdictKind::rate_limited);
  EXPECT_EQ((*window)->until, now_ + 30s);
  EXPECT_EQ((*window)->generation, make().load()->generation);
}

TEST_F(OpenClawCooldown, AQuotaIsWrittenAsDisabledUntilWithReasonBillingInTheAgentState) {
  put_agent(store_json("sk-ant-api03-KEY"));
  store::OpenClaw agent{agent_, std::string{kProfile}};
  auto shared = agent.share_cooldown({1, VerdictKind::quota_exhausted, now_ + 2h});
  ASSERT_TRUE(shared) << shared.error().message;
  EXPECT_EQ(RawDb{agent_}.text("SELECT state_json FROM auth_profile_state WHERE state_key = "
                               "'primary'"),
            R"({"version":1,"usageStats":{"anthropic:work":{"disabledUntil":)" +
                std::to_string(ms_of(now_ + 2h)) + R"(,"disabledReason":"billing"}}})");
  EXPECT_EQ(state_json(), "<no row>");  // the shared database is another one
  auto window = agent.shared_cooldown();
  ASSERT_TRUE(window && *window);
  EXPECT_EQ((*window)->reason, VerdictKind::quota_exhausted);
  EXPECT_EQ((*window)->until, now_ + 2h);
}

TEST_F(OpenClawCooldown, AWindowNeverShrinks) {
  put_state(state_with(R"({"cooldownUntil":)" + std::to_string(ms_of(now_ + 10min)) +
                       R"(,"cooldownReason":"rate_limit"})"));
  const std::string before = state_json();
  ASSERT_TRUE(make().share_cooldown({1, VerdictKind::rate_limited, now_ + 30s}));
  EXPECT_EQ(state_json(), before);
  ASSERT_TRUE(make().share_cooldown({1, VerdictKind::rate_limited, now_ + 20min}));
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window && *window);
  EXPECT_EQ((*window)->until, now_ + 20min);
}

TEST_F(OpenClawCooldown, AWindowIsSharedForADayAtMost) {
  ASSERT_TRUE(make().share_cooldown({1, VerdictKind::quota_exhausted, now_ + 24h * 30}));
  // A day after the store's own clock at the write, a little after now_.
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window && *window) << state_json();
  EXPECT_GE((*window)->until, now_ + 24h);
  EXPECT_LE((*window)->until, now_ + 24h + 10s);
  EXPECT_NE(state_json().find(R"("disabledUntil":)" + std::to_string(ms_of((*window)->until))),
            std::string::npos)
      << state_json();
}

TEST_F(OpenClawCooldown, OpenClawsRunningWindowsAreReadButNotAuthOrEndedOnes) {
  put_state(state_with(R"({"cooldownUntil":)" + std::to_string(ms_of(now_ + 45s)) +
                       R"(,"cooldownReason":"overloaded","disabledUntil":)" +
                       std::to_string(ms_of(now_ - 1s)) + R"(,"disabledReason":"billing"})"));
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window && *window);
  EXPECT_EQ((*window)->reason, VerdictKind::rate_limited);
  EXPECT_EQ((*window)->until, now_ + 45s);

  put_state(state_with(R"({"cooldownUntil":)" + std::to_string(ms_of(now_ + 45s)) +
                       R"(,"cooldownReason":"auth"})"));
  window = make().shared_cooldown();
  ASSERT_TRUE(window);
  EXPECT_FALSE(*window);
}

TEST_F(OpenClawCooldown, NothingIsWrittenForAProfileTheStoreDoesNotHold) {
  auto shared = store::OpenClaw{shared_, "anthropic:nobody"}.share_cooldown(
      {1, VerdictKind::rate_limited, now_ + 30s});
  ASSERT_TRUE(shared) << shared.error().message;
  EXPECT_EQ(state_json(), "<no row>");
}

TEST_F(OpenClawCooldown, AMalformedStateIsIgnoredOnReadAndRefusedOnWriteWithNothingLost) {
  for (const std::string& state :
       {std::string{R"([1,2,3])"}, std::string{R"({"version":1,"usageStats":[1]})"},
        state_with(R"("not an object")"), std::string{R"({"usageStats":)"}}) {
    put_state(state);
    auto window = make().shared_cooldown();
    ASSERT_TRUE(window) << window.error().message;
    EXPECT_FALSE(*window) << state;
    auto shared = make().share_cooldown({1, VerdictKind::rate_limited, now_ + 30s});
    ASSERT_FALSE(shared) << state;
    EXPECT_EQ(shared.error().code, make_error_code(Errc::store_unavailable));
    EXPECT_NE(shared.error().message.find("usageStats"), std::string::npos);
    EXPECT_EQ(state_json(), state);
  }
}

#ifdef KEYWARD_TEST_HTTPLIB
// --- through ResilientCredential, against a real server ----------------------------------------

class OpenClawCooldownHttp : public OpenClawCooldown, protected CooldownHttpRig<store::OpenClaw> {
 protected:
  void SetUp() override {
    OpenClawCooldown::SetUp();
    put_shared(store_json(server_.api_key()));
    start_at(now_);
  }
  [[nodiscard]] Api holder() { return CooldownHttpRig::holder(make(), kProfile); }
};

TEST_F(OpenClawCooldownHttp, AWindowOpenClawWroteIsHonouredWithoutSending) {
  put_state(state_with(R"({"cooldownUntil":)" + std::to_string(ms_of(now_ + 60s)) +
                       R"(,"cooldownReason":"rate_limit","errorCount":1})"));
  Api api = holder();
  auto refused = api.send(message());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(Errc::cooling_down)) << refused.error().message;
  EXPECT_EQ(api_requests(), 0);
  EXPECT_EQ(api.status().state, CredentialState::cooling);

  clock_.advance(61s);
  auto after = api.send(message());
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(api_requests(), 1);
}

TEST_F(OpenClawCooldownHttp, A429OneHolderGotIsHonouredByASecondOnTheSameDatabase) {
  Api first = holder();
  Api second = holder();
  server_.fault(
      Route::api,
      {.status = 429,
       .headers = {{"retry-after", "30"}},
       .body = R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})"});
  auto limited = first.send(message());
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, make_error_code(Errc::cooling_down));
  EXPECT_EQ(api_requests(), 1);
  EXPECT_NE(state_json().find(R"("cooldownReason":"rate_limit")"), std::string::npos)
      << state_json();

  clock_.advance(2s);
  auto refused = second.send(message());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(Errc::cooling_down)) << refused.error().message;
  EXPECT_EQ(api_requests(), 1);  // the second holder never sent

  clock_.advance(29s);
  auto after = second.send(message());
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->status, 200);
}
#endif  // KEYWARD_TEST_HTTPLIB

}  // namespace
}  // namespace keyward::testing
