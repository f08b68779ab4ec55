// CredentialCell on its own: admit, record, install, replace. No transport, no clock, no sleep:
// every test passes `now` explicitly.
#include "keyward/credential_cell.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>

#include "keyward/cooldown/exponential_backoff.hpp"
#include "support/fake_clock.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using Cell = CredentialCell<cooldown::ExponentialBackoff>;
using Kind = Cell::Admission::Kind;

const TimePoint kNow{testing::kFixtureNow};
const std::string kKey = "sk-test-key-0123456789abcdefWXYZ";

Verdict verdict_of(VerdictKind kind, std::optional<std::chrono::milliseconds> wait = {}) {
  Verdict v;
  v.kind = kind;
  v.retry_after = wait;
  return v;
}

struct CellTest : ::testing::Test {
  CredentialOptions options{.profile = "cell", .jitter_seed = 1};
  cooldown::ExponentialBackoff cooldown{};

  Cell make(Credential credential, TokenTraits traits = {}) {
    return Cell{options, cooldown, std::move(credential), std::move(traits), kNow};
  }
  static Cell::Admission admit(Cell& cell, TimePoint now, Cell::AdmitOptions how = {}) {
    return cell.admit(now, how, [](const detail::Token&) {});
  }
  static CredentialState state(const Cell& cell) { return cell.snapshot()->state; }
};

TEST_F(CellTest, AdmitsAReadyCredentialAndLetsTheDriverPlaceIt) {
  Cell cell = make(Credential::api_key(kKey));
  std::string placed;
  auto admission = cell.admit(
      kNow, {}, [&](const detail::Token& t) { placed = std::string{t.credential.token.reveal()}; });
  ASSERT_EQ(admission.kind, Kind::send);
  EXPECT_EQ(placed, kKey);
  EXPECT_EQ(admission.ticket.generation, 1U);
  EXPECT_EQ(admission.ticket.probe, 0U);
}

TEST_F(CellTest, RateLimitTakesItOutUntilTheServersWaitThenOneProbe) {
  Cell cell = make(Credential::api_key(kKey));
  auto first = admit(cell, kNow);
  const Action action =
      cell.record(first.ticket, verdict_of(VerdictKind::rate_limited, 20s), kNow, 0);
  EXPECT_EQ(action.kind, ActionKind::fail);
  ASSERT_TRUE(action.change);
  EXPECT_EQ(action.change->kind, EventKind::cooldown_entered);
  EXPECT_EQ(action.change->until, kNow + 20s);
  EXPECT_EQ(admit(cell, kNow + 19s).kind, Kind::refuse);

  auto probe = admit(cell, kNow + 20s);
  ASSERT_EQ(probe.kind, Kind::send);
  EXPECT_NE(probe.ticket.probe, 0U);
  EXPECT_EQ(state(cell), CredentialState::probing);
  EXPECT_EQ(admit(cell, kNow + 20s).kind, Kind::refuse);  // exactly one probe

  const Action ok = cell.record(probe.ticket, verdict_of(VerdictKind::ok), kNow + 21s, 0);
  EXPECT_EQ(ok.kind, ActionKind::deliver);
  ASSERT_TRUE(ok.change);
  EXPECT_EQ(ok.change->kind, EventKind::cooldown_left);
  EXPECT_EQ(state(cell), CredentialState::ready);
}

TEST_F(CellTest, AProbeTicketDestroyedUndecidedHandsTheProbeBack) {
  Cell cell = make(Credential::api_key(kKey));
  auto first = admit(cell, kNow);
  cell.record(first.ticket, verdict_of(VerdictKind::rate_limited, 20s), kNow, 0);
  {
    auto probe = admit(cell, kNow + 20s);
    ASSERT_NE(probe.ticket.probe, 0U);
    // The driver's transport throws here: the ticket unwinds without a verdict.
  }
  EXPECT_EQ(state(cell), CredentialState::cooling);
  EXPECT_EQ(admit(cell, kNow + 20s).kind, Kind::send);  // the next request probes
}

TEST_F(CellTest, ProbeOwnershipSurvivesARefreshThatLandsDuringTheProbe) {
  Cell cell = make(
      Credential::oauth("sk-test-access-0123456789ab", "sk-test-refresh-0123456789", kNow + 1h),
      {.refreshable = true, .not_refreshable = {}});
  auto first = admit(cell, kNow);
  cell.record(first.ticket, verdict_of(VerdictKind::rate_limited, 20s), kNow, 0);
  auto probe = admit(cell, kNow + 20s);
  ASSERT_NE(probe.ticket.probe, 0U);

  // Another thread's refresh, started before the cooldown, completes now.
  ASSERT_TRUE(cell.install(
      1, Credential::oauth("sk-test-access-refreshed-01", "sk-test-refresh-2", kNow + 2h),
      {.refreshable = true, .not_refreshable = {}}, kNow + 21s, {}, true));
  EXPECT_EQ(state(cell), CredentialState::probing);

  const Action ok = cell.record(probe.ticket, verdict_of(VerdictKind::ok), kNow + 22s, 0);
  EXPECT_EQ(ok.kind, ActionKind::deliver);
  EXPECT_EQ(state(cell), CredentialState::ready);  // not probing forever
}

TEST_F(CellTest, A401OnARefreshableTokenAsksForARefreshAndAReplacementForAReplay) {
  Cell cell = make(
      Credential::oauth("sk-test-access-0123456789ab", "sk-test-refresh-0123456789", kNow + 1h),
      {.refreshable = true, .not_refreshable = {}});
  auto sent = admit(cell, kNow);
  EXPECT_EQ(cell.record(sent.ticket, verdict_of(VerdictKind::unauthenticated), kNow, 0).kind,
            ActionKind::refresh_then_replay);

  auto stale = admit(cell, kNow);
  cell.replace(Credential::api_key(kKey), {}, kNow);
  EXPECT_EQ(cell.record(stale.ticket, verdict_of(VerdictKind::unauthenticated), kNow, 0).kind,
            ActionKind::replay);
}

TEST_F(CellTest, A401RightAfterARefreshNeedsReauth) {
  Cell cell = make(
      Credential::oauth("sk-test-access-0123456789ab", "sk-test-refresh-0123456789", kNow + 1h),
      {.refreshable = true, .not_refreshable = {}});
  cell.install(1, Credential::oauth("sk-test-access-refreshed-01", "sk-test-refresh-2", kNow + 2h),
               {.refreshable = true, .not_refreshable = {}}, kNow, {}, true);
  auto sent = admit(cell, kNow);
  EXPECT_TRUE(sent.ticket.unverified);
  const Action action = cell.record(sent.ticket, verdict_of(VerdictKind::unauthenticated), kNow, 1);
  ASSERT_EQ(action.kind, ActionKind::fail);
  EXPECT_EQ(action.error->code, Errc::needs_reauth);
  EXPECT_NE(action.error->message.find("right after it was refreshed"), std::string::npos);
  EXPECT_EQ(state(cell), CredentialState::needs_reauth);
}

TEST_F(CellTest, ANotRefreshableCredentialSaysWhyItsRejectionIsFinal) {
  Cell cell = make(
      Credential::oauth("sk-test-access-0123456789ab", "sk-test-refresh-0123456789", std::nullopt),
      {.refreshable = false, .not_refreshable = "and this policy does not refresh"});
  auto sent = admit(cell, kNow);
  const Action action = cell.record(sent.ticket, verdict_of(VerdictKind::unauthenticated), kNow, 0);
  ASSERT_EQ(action.kind, ActionKind::fail);
  EXPECT_NE(action.error->message.find("this policy does not refresh"), std::string::npos)
      << action.error->message;
}

TEST_F(CellTest, ProviderScopedVerdictsLeaveTheStateAlone) {
  Cell cell = make(Credential::api_key(kKey));
  for (const auto kind : {VerdictKind::overloaded, VerdictKind::transient}) {
    auto sent = admit(cell, kNow);
    EXPECT_EQ(cell.record(sent.ticket, verdict_of(kind), kNow, 0).kind, ActionKind::retry);
    EXPECT_EQ(state(cell), CredentialState::ready);
  }
}

TEST_F(CellTest, WindowsSaturateInsteadOfOverflowing) {
  options.jitter_seed = 3;
  cooldown = cooldown::ExponentialBackoff{{.rate_limit_first = std::chrono::milliseconds::max(),
                                           .rate_limit_max = std::chrono::milliseconds::max(),
                                           .honor_server_wait = true}};
  Cell cell = make(Credential::api_key(kKey));
  auto sent = admit(cell, kNow);
  const Action action =
      cell.record(sent.ticket,
                  verdict_of(VerdictKind::rate_limited, std::chrono::milliseconds::max()), kNow, 0);
  ASSERT_TRUE(action.change);
  ASSERT_TRUE(action.change->until);
  EXPECT_GT(*action.change->until, kNow);  // not wrapped into the past
  EXPECT_EQ(*action.change->until, TimePoint::max());
  EXPECT_EQ(admit(cell, kNow + 24h * 365 * 100).kind, Kind::refuse);
}

TEST_F(CellTest, ThresholdsOfAPersonsTokenUseTheMargins) {
  options.refresh.soft_spread = 0;  // the margins alone (the spread: refresh_spread_test.cpp)
  Cell cell = make(
      Credential::oauth("sk-test-access-0123456789ab", "sk-test-refresh-0123456789", kNow + 300s),
      {.refreshable = true, .not_refreshable = {}});
  // A 300 s token handed over by a person: its lifetime is unknown, so the 5 min margin applies
  // and it may be refreshed at once.
  const auto token = cell.snapshot()->token;
  EXPECT_EQ(token->soft_at, kNow);
  EXPECT_EQ(token->hard_at, kNow + 270s);
}

struct Lifetime {
  std::chrono::seconds lifetime;
  std::chrono::seconds soft;  // after issue
  std::chrono::seconds hard;
};

class RefreshedThresholdTest : public CellTest, public ::testing::WithParamInterface<Lifetime> {};

TEST_P(RefreshedThresholdTest, ATokenFromARefreshIsRenewedNoEarlierThanHalfItsLifetime) {
  const Lifetime p = GetParam();
  options.refresh.soft_spread = 0;  // the margins alone (the spread: refresh_spread_test.cpp)
  Cell cell = make(
      Credential::oauth("sk-test-access-0123456789ab", "sk-test-refresh-0123456789", kNow + 1h),
      {.refreshable = true, .not_refreshable = {}});
  const auto token = cell.install(
      1, Credential::oauth("sk-test-access-refreshed-01", "sk-test-refresh-2", kNow + p.lifetime),
      {.refreshable = true, .not_refreshable = {}}, kNow, {}, true);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->soft_at, kNow + p.soft);
  EXPECT_EQ(token->hard_at, kNow + p.hard);
}

INSTANTIATE_TEST_SUITE_P(
    Lifetimes, RefreshedThresholdTest,
    ::testing::Values(Lifetime{60s, 30s, 57s},        // margins scaled by 30/300
                      Lifetime{300s, 150s, 285s},     // Keycloak's default
                      Lifetime{3600s, 3300s, 3570s},  // the 5 min margin is under half
                      Lifetime{8 * 3600s, 4 * 3600s, 8 * 3600s - 30s}));  // long-lived: half-life

TEST_F(CellTest, ScrubRemovesEverySecretItKnowsFromAVerdict) {
  const std::string access = "sk-test-access-0123456789ab";
  const std::string refresh = "sk-test-refresh-0123456789";
  Cell cell{options, cooldown, Credential::oauth(access, refresh, std::nullopt),
            {},      kNow,     {Secret{"client-secret-0123456789"}}};
  Verdict v = verdict_of(VerdictKind::unauthenticated);
  v.message =
      "invalid token " + access + " (refresh " + refresh + ", client client-secret-0123456789)";
  v.request_id = "req-" + access;
  cell.scrub(v);
  EXPECT_EQ(v.message.find(access), std::string::npos) << v.message;
  EXPECT_EQ(v.message.find(refresh), std::string::npos) << v.message;
  EXPECT_EQ(v.message.find("client-secret-0123456789"), std::string::npos) << v.message;
  EXPECT_EQ(v.request_id.find(access), std::string::npos);

  // The previous generation's secrets are still scrubbed after a replacement.
  cell.replace(Credential::api_key(kKey), {}, kNow);
  Verdict late = verdict_of(VerdictKind::unauthenticated);
  late.message = "stale " + access;
  cell.scrub(late);
  EXPECT_EQ(late.message.find(access), std::string::npos);
}

}  // namespace
}  // namespace keyward
