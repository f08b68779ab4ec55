// Cooldown windows shared through the credentials file (docs/credentials-file.md, "Cooldowns"):
// store::File keeps them in OpenClaw's `usageStats.<profile>` members, so keyward processes
// and OpenClaw honour each other's windows. Real HTTP servers on 127.0.0.1 count the requests;
// the credential's clock is a FakeClock set to the real time (the file's windows are epoch ms).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "keyward/credential_store.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/store/file.hpp"
#include "store/credentials_file_fixture.hpp"
#include "support/fake_clock.hpp"

#ifdef KEYWARD_TEST_HTTPLIB
#include "store/cooldown_http_rig.hpp"
#endif

namespace keyward {
namespace {

using namespace std::chrono_literals;

std::int64_t ms_of(TimePoint at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

TimePoint at_ms(std::int64_t ms) { return TimePoint{std::chrono::milliseconds{ms}}; }

class FileCooldown : public testing::CredentialsFileTest {
 protected:
  static constexpr std::string_view kProfile = "anthropic:work";

  [[nodiscard]] store::File make() const { return store::File{path_, std::string{kProfile}}; }

  // An OpenClaw file with one API-key profile and `usage` as its usageStats entry.
  [[nodiscard]] std::string openclaw_file(std::string_view key, std::string_view usage) const {
    return R"({
  "version": 1,
  "profiles": {
    "anthropic:work": {
      "type": "api_key",
      "provider": "anthropic",
      "key": ")" +
           std::string{key} + R"("
    },
    "openai:ci": { "type": "api_key", "provider": "openai", "key": "sk-proj-other" }
  },
  "order": { "anthropic": ["anthropic:work"] },
  "usageStats": {
    "openai:ci": { "lastUsed": 1767225600000, "errorCount": 0 },
    "anthropic:work": )" +
           std::string{usage} + R"(
  }
}
)";
  }

  // The profile's usageStats entry as the file now has it.
  [[nodiscard]] std::string usage_entry() const {
    const std::string all = text();
    auto root = detail::json::parse(all);
    if (!root) return "<not JSON>";
    const auto* stats = root->find("usageStats");
    const auto* entry = stats != nullptr ? stats->find(kProfile) : nullptr;
    return entry != nullptr ? std::string{entry->source(all)} : "<none>";
  }

  TimePoint now_ = std::chrono::time_point_cast<std::chrono::milliseconds>(SystemClock{}.now());
};

// --- the store: OpenClaw's members and reasons -------------------------------------------------

TEST_F(FileCooldown, FileSharesCooldowns) { EXPECT_TRUE(SharesCooldowns<store::File>); }

TEST_F(FileCooldown, ARateLimitIsWrittenAsOpenClawsCooldownUntilAndReason) {
  write(openclaw_file("sk-ant-api03-KEY", R"({ "lastUsed": 1767225600000, "errorCount": 2 })"));
  auto store = make();
  const auto stored = store.load();
  ASSERT_TRUE(stored) << stored.error().message;
  const TimePoint until = now_ + 30s;
  ASSERT_TRUE(store.share_cooldown({stored->generation, VerdictKind::rate_limited, until}));
  auto root = detail::json::parse(text());
  ASSERT_TRUE(root);
  const auto* entry = root->find("usageStats")->find(kProfile);
  ASSERT_NE(entry, nullptr) << text();
  ASSERT_TRUE(entry->find("cooldownUntil") != nullptr) << text();
  EXPECT_EQ(*entry->find("cooldownUntil")->as_number(), static_cast<double>(ms_of(until)));
  EXPECT_EQ(entry->string_or("cooldownReason"), "rate_limit");
  EXPECT_EQ(entry->find("disabledUntil"), nullptr);
  // OpenClaw's other members of the entry stay.
  EXPECT_EQ(*entry->find("errorCount")->as_number(), 2.0);
  EXPECT_EQ(*entry->find("lastUsed")->as_number(), 1767225600000.0);
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window && *window);
  EXPECT_EQ((*window)->reason, VerdictKind::rate_limited);
  EXPECT_EQ((*window)->until, until);
  EXPECT_EQ((*window)->generation, stored->generation);
}

TEST_F(FileCooldown, AQuotaIsWrittenAsOpenClawsDisabledUntilWithReasonBilling) {
  write(openclaw_file("sk-ant-api03-KEY", "{}"));
  auto store = make();
  const TimePoint until = now_ + 600s;
  ASSERT_TRUE(
      store.share_cooldown({store.load()->generation, VerdictKind::quota_exhausted, until}));
  auto root = detail::json::parse(text());
  ASSERT_TRUE(root);
  const auto* entry = root->find("usageStats")->find(kProfile);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(*entry->find("disabledUntil")->as_number(), static_cast<double>(ms_of(until)));
  EXPECT_EQ(entry->string_or("disabledReason"), "billing");
  EXPECT_EQ(entry->find("cooldownUntil"), nullptr);
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window && *window);
  EXPECT_EQ((*window)->reason, VerdictKind::quota_exhausted);
  EXPECT_EQ((*window)->until, until);
}

TEST_F(FileCooldown, AWindowNeverShrinks) {
  write(openclaw_file("sk-ant-api03-KEY", "{}"));
  auto store = make();
  const auto generation = store.load()->generation;
  ASSERT_TRUE(store.share_cooldown({generation, VerdictKind::rate_limited, now_ + 60s}));
  const std::string before = text();
  ASSERT_TRUE(store.share_cooldown({generation, VerdictKind::rate_limited, now_ + 20s}));
  EXPECT_EQ(text(), before);  // shorter: nothing written
  ASSERT_TRUE(store.share_cooldown({generation, VerdictKind::rate_limited, now_ + 90s}));
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window && *window);
  EXPECT_EQ((*window)->until, now_ + 90s);
}

TEST_F(FileCooldown, AWindowWriteKeepsEveryOtherByteOfTheFile) {
  const std::string original = openclaw_file("sk-ant-api03-KEY", R"({ "lastUsed": 1 })");
  write(original);
  auto store = make();
  ASSERT_TRUE(
      store.share_cooldown({store.load()->generation, VerdictKind::rate_limited, now_ + 30s}));
  const std::string after = text();
  // Everything up to the profile's usage entry is the file as it was, byte for byte.
  const std::string_view head = R"("anthropic:work": )";
  const auto cut = original.rfind(head);
  ASSERT_NE(cut, std::string::npos);
  EXPECT_EQ(after.substr(0, cut + head.size()), original.substr(0, cut + head.size()));
  EXPECT_EQ(after.substr(after.size() - 6), original.substr(original.size() - 6));
  // And the credential's generation did not move: a window is not a credential write.
  EXPECT_EQ(make().load()->generation, store.load()->generation);
}

TEST_F(FileCooldown, AWindowIsAddedToAFileWithoutUsageStats) {
  write(R"({"version":1,"profiles":{"anthropic:work":{"type":"api_key","key":"k"}}})");
  auto store = make();
  ASSERT_TRUE(
      store.share_cooldown({store.load()->generation, VerdictKind::rate_limited, now_ + 30s}));
  const std::string expected =
      R"({"version":1,"profiles":{"anthropic:work":{"type":"api_key","key":"k"}},)"
      R"("usageStats":{"anthropic:work":{"cooldownUntil":)" +
      std::to_string(ms_of(now_ + 30s)) + R"(,"cooldownReason":"rate_limit"}}})";
  EXPECT_EQ(text(), expected);
}

TEST_F(FileCooldown, NothingIsWrittenForAProfileTheFileDoesNotHold) {
  write(R"({"version":1,"profiles":{}})");
  auto store = make();
  ASSERT_TRUE(store.share_cooldown({0, VerdictKind::rate_limited, now_ + 30s}));
  EXPECT_EQ(text(), R"({"version":1,"profiles":{}})");
}

// OpenClaw's windows, as OpenClaw writes them (profile-usage-stats: any failure reason).
TEST_F(FileCooldown, OpenClawsRunningWindowsAreRead) {
  const auto until = ms_of(now_ + 45s);
  write(openclaw_file("k", R"({ "cooldownUntil": )" + std::to_string(until) +
                               R"(, "cooldownReason": "rate_limit", "cooldownModel": "claude-x",
      "errorCount": 3, "failureCounts": { "rate_limit": 3 }, "lastFailureAt": 1 })"));
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window) << window.error().message;
  ASSERT_TRUE(*window);
  EXPECT_EQ((*window)->until, at_ms(until));
  EXPECT_EQ((*window)->reason, VerdictKind::rate_limited);
  EXPECT_EQ((*window)->generation, make().load()->generation);

  // A billing window that ends later wins, as the later of the two.
  write(openclaw_file("k", R"({ "cooldownUntil": )" + std::to_string(until) +
                               R"(, "disabledUntil": )" + std::to_string(until + 60'000) +
                               R"(, "disabledReason": "billing" })"));
  window = make().shared_cooldown();
  ASSERT_TRUE(window && *window);
  EXPECT_EQ((*window)->until, at_ms(until + 60'000));
  EXPECT_EQ((*window)->reason, VerdictKind::quota_exhausted);
}

TEST_F(FileCooldown, EndedWindowsAndAuthWindowsAreNotShared) {
  const auto past = ms_of(now_ - 1s);
  const auto later = ms_of(now_ + 60s);
  write(openclaw_file("k", R"({ "cooldownUntil": )" + std::to_string(past) +
                               R"(, "cooldownReason": "rate_limit" })"));
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window);
  EXPECT_FALSE(*window);
  // An auth failure is keyward's own business (it refreshes or asks for a login).
  write(openclaw_file("k", R"({ "cooldownUntil": )" + std::to_string(later) +
                               R"(, "cooldownReason": "auth", "disabledUntil": )" +
                               std::to_string(later) +
                               R"(, "disabledReason": "auth_permanent" })"));
  window = make().shared_cooldown();
  ASSERT_TRUE(window);
  EXPECT_FALSE(*window);
}

// A window longer than a reader adopts (a quota that resets in three days) is shared for 24
// hours, the longest OpenClaw writes and keyward reads, rather than not at all.
TEST_F(FileCooldown, AWindowLongerThanADayIsSharedForADay) {
  write(openclaw_file("k", "{}"));
  auto store = make();
  ASSERT_TRUE(
      store.share_cooldown({store.load()->generation, VerdictKind::quota_exhausted, now_ + 72h}));
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window && *window) << text();
  EXPECT_EQ((*window)->reason, VerdictKind::quota_exhausted);
  EXPECT_GE((*window)->until, now_ + 24h);
  EXPECT_LE((*window)->until, now_ + 24h + 10s);
}

// --- malformed usageStats: ignored when read, refused (nothing written) when written into -------

TEST_F(FileCooldown, AUsageStatsThatIsNotAnObjectIsIgnoredAndNeverReplaced) {
  const std::string original =
      R"({"version":1,"profiles":{"anthropic:work":{"type":"api_key","key":"k"}},)"
      R"("usageStats":["not", "an", "object"]})";
  write(original);
  auto store = make();
  auto window = store.shared_cooldown();
  ASSERT_TRUE(window) << window.error().message;
  EXPECT_FALSE(*window);
  auto shared = store.share_cooldown({1, VerdictKind::rate_limited, now_ + 30s});
  ASSERT_FALSE(shared);
  EXPECT_EQ(shared.error().code, make_error_code(Errc::store_unavailable));
  EXPECT_NE(shared.error().message.find(R"("usageStats" is not an object)"), std::string::npos)
      << shared.error().message;
  EXPECT_NE(shared.error().message.find(path_), std::string::npos) << shared.error().message;
  EXPECT_EQ(text(), original);  // nothing lost
  // The credential is still read and written, the member kept as it was.
  ASSERT_TRUE(store.load());
  ASSERT_TRUE(
      store.compare_and_swap(store.load()->generation, Credential::api_key("sk-ant-api03-NEW")));
  EXPECT_NE(text().find(R"("usageStats":["not", "an", "object"])"), std::string::npos) << text();
}

TEST_F(FileCooldown, AnEntryThatIsNotAnObjectIsIgnoredAndNeverReplaced) {
  write(openclaw_file("k", R"("busy")"));
  const std::string original = text();
  auto store = make();
  auto window = store.shared_cooldown();
  ASSERT_TRUE(window);
  EXPECT_FALSE(*window);
  auto shared = store.share_cooldown({1, VerdictKind::quota_exhausted, now_ + 30s});
  ASSERT_FALSE(shared);
  EXPECT_NE(shared.error().message.find(R"(of profile "anthropic:work" is not an object)"),
            std::string::npos)
      << shared.error().message;
  EXPECT_EQ(text(), original);
}

TEST_F(FileCooldown, TimesThatAreNotTimesAreIgnoredAndAWindowKeywardWritesReplacesThem) {
  for (const std::string until : {R"("soon")", "true", "null", "-5", "1e308", "[1]"}) {
    SCOPED_TRACE(until);
    write(openclaw_file("k", R"({ "cooldownUntil": )" + until +
                                 R"(, "cooldownReason": "rate_limit", "errorCount": 4 })"));
    auto store = make();
    auto window = store.shared_cooldown();
    ASSERT_TRUE(window) << window.error().message;
    EXPECT_FALSE(*window);
    ASSERT_TRUE(store.share_cooldown({1, VerdictKind::rate_limited, now_ + 30s}));
    window = store.shared_cooldown();
    ASSERT_TRUE(window && *window) << text();
    EXPECT_EQ((*window)->until, now_ + 30s);
    EXPECT_NE(usage_entry().find(R"("errorCount": 4)"), std::string::npos) << usage_entry();
  }
}

// A window ending years ahead comes from a clock far ahead (or is no time at all): waiting it
// out would block the profile for years, so it is not adopted; OpenClaw's longest is 24 hours.
TEST_F(FileCooldown, AWindowFarAheadIsNotAdopted) {
  write(openclaw_file("k", R"({ "cooldownUntil": )" + std::to_string(ms_of(now_ + 24h + 1min)) +
                               R"(, "disabledUntil": )" + std::to_string(ms_of(now_ + 24h * 3650)) +
                               R"(, "disabledReason": "billing" })"));
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window);
  EXPECT_FALSE(*window);
  // Within 24 hours it is honoured.
  write(openclaw_file("k", R"({ "cooldownUntil": )" + std::to_string(ms_of(now_ + 23h)) + "}"));
  window = make().shared_cooldown();
  ASSERT_TRUE(window && *window);
  EXPECT_EQ((*window)->until, now_ + 23h);
}

#ifdef KEYWARD_TEST_HTTPLIB
// --- through ResilientCredential, against a real server ----------------------------------------

class FileCooldownHttp : public FileCooldown, protected testing::CooldownHttpRig<store::File> {
 protected:
  void SetUp() override {
    FileCooldown::SetUp();
    start_at(now_);
  }
  [[nodiscard]] Api holder() { return CooldownHttpRig::holder(make(), kProfile); }
};

TEST_F(FileCooldownHttp, AFileOpenClawWroteWithARunningCooldownIsHonouredWithoutSending) {
  write(openclaw_file(server_.api_key(),
                      R"({ "cooldownUntil": )" + std::to_string(ms_of(now_ + 60s)) +
                          R"(, "cooldownReason": "rate_limit", "errorCount": 1 })"));
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

TEST_F(FileCooldownHttp, A429RecordedByOneHolderIsHonouredByASecondOverTheSameFile) {
  write(openclaw_file(server_.api_key(), "{}"));
  Api first = holder();
  Api second = holder();
  server_.fault(
      testing::Route::api,
      {.status = 429,
       .headers = {{"retry-after", "30"}},
       .body = R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})"});
  auto limited = first.send(message());
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, make_error_code(Errc::cooling_down));
  EXPECT_EQ(api_requests(), 1);
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window && *window) << text();
  EXPECT_GE((*window)->until, now_ + 30s);

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
TEST_F(FileCooldownHttp, AWindowYearsAheadDoesNotStopTheRequest) {
  write(openclaw_file(server_.api_key(), R"({ "cooldownUntil": )" +
                                             std::to_string(ms_of(now_ + 24h * 3650)) +
                                             R"(, "cooldownReason": "rate_limit" })"));
  Api api = holder();
  auto sent = api.send(message());
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(sent->status, 200);
  EXPECT_EQ(api_requests(), 1);
}
#endif  // KEYWARD_TEST_HTTPLIB

}  // namespace
}  // namespace keyward
