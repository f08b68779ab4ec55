// Stores that share cooldowns (SharesCooldowns) behind the asynchronous face (async.hpp,
// docs/async.md): the window a rate limit opened is written to the store, and another holder's
// window looked up, on the AsyncCredential's own threads. Two credentials over one credentials
// file (store::File, in a temporary folder): a 429 one of them got keeps the other from sending.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/async.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/store/file.hpp"
#include "store/credentials_file_fixture.hpp"
#include "support/fake_async_transport.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_oauth_server.hpp"
#include "support/policies.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;

/// The test policies, the credential in the credentials file.
struct FilePolicies : ObservedPolicies {
  using Store = store::File;
};
using Api = ResilientCredential<FakeAsyncTransport, FilePolicies>;

class AsyncSharedCooldown : public CredentialsFileTest {
 protected:
  static constexpr std::string_view kProfile = "anthropic:work";

  void SetUp() override {
    CredentialsFileTest::SetUp();
    // The file's windows are epoch milliseconds: the fake clock starts at the real time.
    const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(SystemClock{}.now());
    clock_.advance(now - clock_.now());
    write(R"({"version":1,"profiles":{"anthropic:work":{"type":"api_key","provider":"anthropic",)"
          R"("key":"sk-ant-api03-ASYNCkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk3333"}}})");
    transport_.on(std::string{kApiUrl}, [this](const Request&) -> TransportResult {
      if (!limited_) return response(200, "{}");
      Headers headers;
      headers.set("retry-after", "30");
      return response(429, R"({"error":{"type":"rate_limit_error"}})", std::move(headers));
    });
  }

  /// A holder of the file's credential.
  [[nodiscard]] std::unique_ptr<Api> holder() {
    store::File store{path_, std::string{kProfile}};
    auto loaded = store.load();
    EXPECT_TRUE(loaded) << loaded.error().message;
    return std::make_unique<Api>(
        transport_, *loaded, CredentialOptions{.profile = std::string{kProfile}},
        Components<FilePolicies>{
            .store = std::move(store), .clock = clock_, .sleeper = RecordingSleeper{clock_}});
  }

  /// async_send() through `api`, run to completion.
  Result<Response> send(AsyncCredential<FakeAsyncTransport, FilePolicies>& api) {
    std::optional<Result<Response>> answer;
    std::exception_ptr thrown;
    api.async_send(Request{.method = "POST", .url = std::string{kApiUrl}, .body = "{}"},
                   [&](std::exception_ptr e, Result<Response> r) {
                     thrown = e;
                     answer.emplace(std::move(r));
                   });
    io_.restart();
    io_.run();
    if (thrown) std::rethrow_exception(thrown);
    return std::move(*answer);
  }

  FakeAsyncTransport transport_;
  FakeClock clock_;
  bool limited_ = false;
  asio::io_context io_;
};

TEST_F(AsyncSharedCooldown, A429OneHolderGotKeepsAnotherFromSendingUntilTheWindowEnds) {
  auto first = holder();
  auto second = holder();
  AsyncCredential first_api{*first, io_.get_executor(), 1};
  AsyncCredential second_api{*second, io_.get_executor(), 1};

  limited_ = true;
  auto limited = send(first_api);
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, Errc::cooling_down) << limited.error().message;
  EXPECT_EQ(transport_.count(std::string{kApiUrl}), 1U);
  // Shared before the operation completed: the file holds the window.
  auto window = store::File{path_, std::string{kProfile}}.shared_cooldown();
  ASSERT_TRUE(window && *window) << text();
  EXPECT_GE((*window)->until, clock_.now() + 30s);

  limited_ = false;
  clock_.advance(2s);
  auto refused = send(second_api);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::cooling_down) << refused.error().message;
  EXPECT_EQ(transport_.count(std::string{kApiUrl}), 1U);  // the second holder never sent
  EXPECT_EQ(second->status().state, CredentialState::cooling);

  clock_.advance(29s);
  auto after = send(second_api);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(transport_.count(std::string{kApiUrl}), 2U);
}

// A window in the file when the holder starts (another process's) is honoured without a send.
TEST_F(AsyncSharedCooldown, AWindowAlreadyInTheFileIsHonouredWithoutSending) {
  {
    store::File store{path_, std::string{kProfile}};
    ASSERT_TRUE(store.share_cooldown(
        {store.load()->generation, VerdictKind::rate_limited, clock_.now() + 60s}));
  }
  auto reader = holder();
  AsyncCredential api{*reader, io_.get_executor(), 1};
  auto refused = send(api);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::cooling_down) << refused.error().message;
  EXPECT_EQ(transport_.count(std::string{kApiUrl}), 0U);
}

}  // namespace
}  // namespace keyward::testing
