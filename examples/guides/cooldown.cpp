// docs/guides/cooldown.md: a custom CooldownPolicy.
//
// SteadyRateLimits keeps a rate-limited credential out for the server's wait, but never less
// than 10 s; without a server's wait, for a window of 10 s doubling to 2 min, with "equal jitter"
// (between half the window and the whole window). Quota windows are the shipped
// ExponentialBackoff's. A rejected or misconfigured credential is never probed: it waits for
// set_credential().
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>

#include "keyward/keyward.hpp"

class SteadyRateLimits {
 public:
  using milliseconds = std::chrono::milliseconds;

  struct Options {
    milliseconds floor = std::chrono::seconds{10};  // the first window; the least server's wait
    milliseconds cap = std::chrono::minutes{2};     // the longest window without a server's wait
  };

  SteadyRateLimits() = default;
  // Invalid configuration throws from the constructor, as the shipped policies do.
  explicit SteadyRateLimits(Options options) : options_(options) {
    if (options_.floor <= milliseconds::zero() || options_.cap < options_.floor) {
      throw std::invalid_argument("SteadyRateLimits: need 0 < floor <= cap");
    }
  }

  // Pure: the verdict, the count of failures of this kind in a row (1 for the first) and a
  // jitter fraction in [0, 1) decide; no clock, no random source of its own.
  [[nodiscard]] std::optional<milliseconds> on_failure(const keyward::Verdict& verdict,
                                                       std::uint32_t consecutive,
                                                       double jitter) const noexcept {
    switch (verdict.kind) {
      case keyward::VerdictKind::rate_limited: {
        if (verdict.retry_after) return std::max(*verdict.retry_after, options_.floor);
        milliseconds window = options_.floor;
        for (std::uint32_t i = 1; i < consecutive && window < options_.cap; ++i) window *= 2;
        window = std::min(window, options_.cap);
        const auto half = window / 2;
        return half + milliseconds{static_cast<milliseconds::rep>(
                          static_cast<double>(half.count()) * std::clamp(jitter, 0.0, 1.0))};
      }
      case keyward::VerdictKind::quota_exhausted:
        return quota_.on_failure(verdict, consecutive, jitter);
      default:
        return std::nullopt;  // unauthenticated or misconfigured: no probe, a person must act
    }
  }

 private:
  Options options_;
  keyward::cooldown::ExponentialBackoff quota_;
};

static_assert(keyward::CooldownPolicy<SteadyRateLimits>);

// Answers every request with the status in `status`, and counts the requests.
struct ScriptedTransport {
  std::shared_ptr<std::atomic<int>> status = std::make_shared<std::atomic<int>>(200);
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  keyward::TransportResult send(const keyward::Request& /*request*/) const {
    ++*calls;
    return keyward::Response{.status = status->load(), .headers = {}, .body = {}};
  }
};

// Time as the example says it is, so that a window can pass at once.
struct ManualClock {
  std::shared_ptr<std::atomic<std::int64_t>> ms =
      std::make_shared<std::atomic<std::int64_t>>(1'770'206'400'000);  // 2026-02-04T12:00:00Z
  [[nodiscard]] keyward::TimePoint now() const {
    return keyward::TimePoint{std::chrono::milliseconds{ms->load()}};
  }
  void set(keyward::TimePoint at) const {
    *ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  }
};

struct SteadyPolicies : keyward::DefaultPolicies {
  using Cooldown = SteadyRateLimits;
  using Clock = ManualClock;
};

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

}  // namespace

int run() {
  using namespace std::chrono_literals;

  // The policy alone: the windows it gives.
  const SteadyRateLimits policy{{.floor = 10s, .cap = 2min}};
  keyward::Verdict limited;
  limited.kind = keyward::VerdictKind::rate_limited;
  for (std::uint32_t n = 1; n <= 6; ++n) {
    const auto low = policy.on_failure(limited, n, 0.0);
    const auto high = policy.on_failure(limited, n, 0.999);
    std::printf("  rate limit #%u: %lld ms to %lld ms\n", static_cast<unsigned>(n),
                static_cast<long long>(low->count()), static_cast<long long>(high->count()));
  }
  expect(policy.on_failure(limited, 6, 0.999) < 2min, "windows stay under the cap");
  limited.retry_after = 3s;
  expect(policy.on_failure(limited, 1, 0.5) == 10s, "a server's wait of 3 s still gives 10 s");
  limited.retry_after = 90s;
  expect(policy.on_failure(limited, 1, 0.5) == 90s, "a server's wait of 90 s gives 90 s");
  keyward::Verdict rejected;
  rejected.kind = keyward::VerdictKind::unauthenticated;
  expect(!policy.on_failure(rejected, 1, 0.5), "a rejected credential is never probed");

  // In a ResilientCredential.
  const ScriptedTransport transport;
  const ManualClock clock;
  keyward::ResilientCredential<ScriptedTransport, SteadyPolicies> api{
      transport,
      keyward::Credential::api_key("kw-example-api-key-0123456789abcd"),
      {.profile = "example:steady"},
      {.cooldown = policy, .clock = clock}};
  const keyward::Request request{.method = "GET", .url = "https://api.example.com/v1/items"};

  transport.status->store(429);
  auto limited_response = api.send(request);
  const auto status = api.status();
  expect(!limited_response && limited_response.error().code == keyward::Errc::cooling_down &&
             status.until && *status.until - status.since >= 5s &&
             *status.until - status.since < 10s,
         "a 429: cooling for 5 s to 10 s");

  const int calls = transport.calls->load();
  auto during = api.send(request);
  expect(!during && transport.calls->load() == calls, "during the window nothing is sent");

  // When the window ends, one request probes the credential; a success makes it ready again.
  clock.set(*status.until);
  transport.status->store(200);
  auto probe = api.send(request);
  expect(probe && probe->status == 200 && api.status().state == keyward::CredentialState::ready,
         "the probe at the end of the window succeeds: ready");

  // A 401 on an API key: waits for a person, with no probe scheduled (the policy said nullopt).
  transport.status->store(401);
  auto rejected_response = api.send(request);
  expect(!rejected_response && api.status().state == keyward::CredentialState::needs_reauth &&
             !api.status().until,
         "a 401: needs_reauth, no probe scheduled");
  return failures == 0 ? 0 : 1;
}

int main() {
  try {
    return run();
  } catch (const std::exception& error) {  // e.g. an unusable credential given to a constructor
    std::fprintf(stderr, "error: %s\n", error.what());
  }
  return 1;
}
