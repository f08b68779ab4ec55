// A concurrency stress test meant for ThreadSanitizer: 8 threads send thousands of requests each
// through one ResilientCredential while access tokens expire (forcing refreshes), the provider
// rate-limits (forcing cooldowns and probes) and a person replaces the credential, all mid-flight.
// It checks the token endpoint is called exactly once per expiry and that no request ever carried
// a token older than the one set_credential() had already installed when the request started.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/resilient_credential.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_oauth_server.hpp"
#include "support/fake_transport.hpp"
#include "support/recording_observer.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeOAuthServer;
using testing::FakeTransport;
using testing::RecordingSleeper;

struct StressPolicies : DefaultPolicies {
  using Refresh = refresh::OAuth2RefreshToken;
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
};
using Credentialed = ResilientCredential<FakeTransport, StressPolicies>;

enum class Chaos { expire, replace, rate_limit, expire_and_replace };

TEST(StressTest, EightThreadsAcrossRefreshesCooldownsAndReplacements) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 48;
  constexpr int kPerRound = 64;  // 8 threads x 48 rounds x 64 = 3072 requests per thread

  FakeTransport transport;
  FakeOAuthServer server{transport};
  FakeClock clock;
  const auto [access, refresh_token] = server.login();
  Credentialed credential{
      transport,
      Credential::oauth(access, refresh_token, std::nullopt),
      {.profile = "stress", .jitter_seed = 3},
      {.refresh = refresh::OAuth2RefreshToken{{.token_url = std::string{testing::kTokenUrl}}},
       .clock = clock,
       .sleeper = RecordingSleeper{clock}}};

  // Raised after set_credential() returns: requests that start later must carry this or newer.
  std::atomic<int> min_serial{FakeOAuthServer::serial_of(access)};
  std::atomic<std::size_t> ok{0};
  std::atomic<std::size_t> refused{0};
  std::vector<std::size_t> token_calls_per_round;
  std::size_t calls_before_round = 0;
  std::barrier round_end(kThreads, [&]() noexcept {
    const std::size_t calls = server.token_calls();
    token_calls_per_round.push_back(calls - calls_before_round);
    calls_before_round = calls;
  });

  const auto chaos_of = [](int round) { return static_cast<Chaos>(round % 4); };
  const auto worker = [&](int id) {
    for (int round = 0; round < kRounds; ++round) {
      const Chaos chaos = chaos_of(round);
      int refused_here = 0;
      for (int i = 0; i < kPerRound; ++i) {
        if (i == kPerRound / 2) {
          const bool expirer =
              id == 0 && (chaos == Chaos::expire || chaos == Chaos::expire_and_replace);
          const bool replacer = (id == 0 && chaos == Chaos::replace) ||
                                (id == 1 && chaos == Chaos::expire_and_replace);
          if (expirer) server.expire_access_tokens();
          if (replacer) {
            const auto [a, r] = server.login();
            ASSERT_TRUE(credential.set_credential(Credential::oauth(a, r, std::nullopt)));
            min_serial.store(FakeOAuthServer::serial_of(a));
          }
          if (id == 0 && chaos == Chaos::rate_limit) server.fail_next_api_request(429, 1);
        }
        Request request{
            .method = "POST", .url = std::string{testing::kApiUrl}, .headers = {}, .body = "{}"};
        request.headers.set("x-test-min-serial", std::to_string(min_serial.load()));
        auto result = credential.send(std::move(request));
        if (result) {
          ok += result->status == 200 ? 1U : 0U;
        } else {
          ++refused;
          // Only cooldowns are expected to refuse; the rate-limiting thread ends the window after
          // a few refusals of its own, so the others meet the window and the probe too.
          EXPECT_EQ(result.error().code, Errc::cooling_down) << result.error().message;
          if (id == 0 && chaos == Chaos::rate_limit && ++refused_here % 4 == 0) clock.advance(1s);
        }
      }
      round_end.arrive_and_wait();
    }
  };
  std::vector<std::thread> threads;
  for (int id = 0; id < kThreads; ++id) threads.emplace_back(worker, id);
  for (auto& t : threads) t.join();

  ASSERT_EQ(token_calls_per_round.size(), static_cast<std::size_t>(kRounds));
  std::size_t expected_calls = 0;
  for (int round = 0; round < kRounds; ++round) {
    const std::size_t calls = token_calls_per_round[static_cast<std::size_t>(round)];
    switch (chaos_of(round)) {
      case Chaos::expire:
        EXPECT_EQ(calls, 1U) << "round " << round;
        break;
      case Chaos::replace:
      case Chaos::rate_limit:
        EXPECT_EQ(calls, 0U) << "round " << round;
        break;
      case Chaos::expire_and_replace:
        // One refresh for the credential that was in place when the tokens expired, and one more
        // when the replacement was logged in just before the expiry and so is expired too.
        EXPECT_LE(calls, 2U) << "round " << round;
        break;
    }
    expected_calls += calls;
  }
  EXPECT_EQ(server.token_calls(), expected_calls);
  EXPECT_GE(server.token_calls(), static_cast<std::size_t>(kRounds / 4));
  EXPECT_EQ(server.stale_tokens(), 0U);
  EXPECT_EQ(ok + refused, static_cast<std::size_t>(kThreads) * kRounds * kPerRound);
  EXPECT_GT(refused.load(), 0U);  // the cooldowns really happened
  EXPECT_EQ(credential.status().state, CredentialState::ready);
  std::printf("stress: %zu ok, %zu refused during cooldowns, %zu token-endpoint calls\n", ok.load(),
              refused.load(), server.token_calls());
}

}  // namespace
}  // namespace keyward
