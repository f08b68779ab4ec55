// Selection::weighted finds whose turn it is in a table of shares while the weights sum to 1024 at
// most, and by binary search beyond: the two choose the same profiles (docs/pool.md).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keyward/pool.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"

namespace keyward {
namespace {

using testing::FakeClock;
using testing::FakeTransport;
using testing::json_response;
using testing::RecordingSleeper;

struct Policies : DefaultPolicies {
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
};
using Pool = CredentialPool<FakeTransport, Policies>;

const std::string kUrl = "https://api.example.test/v1/messages";

std::string key_of(std::size_t i) {
  return "sk-weighted-" + std::to_string(i) + "-0123456789abcdef";
}

// Sends `n` requests through a weighted pool of `weights` and says which profile served each.
std::vector<std::size_t> served(const std::vector<std::uint32_t>& weights, std::size_t n) {
  FakeTransport transport;
  auto seen = std::make_shared<std::vector<std::size_t>>();
  auto mutex = std::make_shared<std::mutex>();
  transport.on(kUrl, [seen, mutex, count = weights.size()](const Request& request) {
    const std::string header{request.headers.get("authorization").value_or("")};
    const std::scoped_lock lock(*mutex);
    for (std::size_t i = 0; i < count; ++i) {
      if (header == "Bearer " + key_of(i)) seen->push_back(i);
    }
    return json_response(200, "{}");
  });
  std::vector<Pool::Profile> profiles;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    profiles.push_back({"p" + std::to_string(i), Credential::api_key(key_of(i)), weights[i], {}});
  }
  PoolOptions options;
  options.selection = Selection::weighted;
  const FakeClock clock;
  Pool pool{transport, std::move(profiles), options,
            Pool::Components{.clock = clock, .sleeper = RecordingSleeper{clock}}};
  for (std::size_t k = 0; k < n; ++k) {
    EXPECT_TRUE(pool.send(Request{.method = "POST", .url = kUrl, .headers = {}, .body = "{}"}));
  }
  return *seen;
}

// What weighted selection gives the k-th request: the profile whose running sum of weights
// first exceeds k modulo the total.
std::vector<std::size_t> expected(const std::vector<std::uint32_t>& weights, std::size_t n) {
  std::uint64_t total = 0;
  for (const auto w : weights) total += w;
  std::vector<std::size_t> out;
  for (std::size_t k = 0; k < n; ++k) {
    std::uint64_t at = k % total;
    std::size_t i = 0;
    while (at >= weights[i]) at -= weights[i++];
    out.push_back(i);
  }
  return out;
}

TEST(WeightedSharesTest, WeightsThatFitTheTableServeInProportion) {
  const std::vector<std::uint32_t> weights{1000, 20, 4};  // 1024: the table
  EXPECT_EQ(served(weights, 2048), expected(weights, 2048));
}

TEST(WeightedSharesTest, WeightsBeyondTheTableServeInProportion) {
  const std::vector<std::uint32_t> weights{1000, 20, 5};  // 1025: binary search
  EXPECT_EQ(served(weights, 2050), expected(weights, 2050));
  const std::vector<std::uint32_t> heavy{3000000, 1000000};
  const auto picks = served(heavy, 40);
  EXPECT_EQ(picks, expected(heavy, 40));
}

}  // namespace
}  // namespace keyward
