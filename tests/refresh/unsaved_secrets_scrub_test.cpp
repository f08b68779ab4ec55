// A redeemed credential whose persist failed is not installed, yet its secrets are as secret as
// the installed ones: the error the persist hook returns may quote the new access and refresh
// tokens (and the strategy's client secret), and none of them may reach the caller's error,
// status() or the events.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/keyward.hpp"
#include "keyward/observe/json_lines.hpp"
#include "keyward/store/file.hpp"
#include "keyward/store/memory.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_oauth_server.hpp"
#include "support/fake_transport.hpp"
#include "support/secret_runs.hpp"

namespace keyward {
namespace {

using testing::FakeClock;
using testing::FakeTransport;
using testing::json_response;
using testing::RecordingSleeper;
using testing::secret_run_in;

struct JsonPolicies : DefaultPolicies {
  using Refresh = refresh::OAuth2RefreshToken;
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
  using Observer = observe::JsonLines;
};
using RC = ResilientCredential<FakeTransport, JsonPolicies>;

const std::string kApi{testing::kApiUrl};
const std::string kToken{testing::kTokenUrl};
const std::string kOldAccess = "old-access-Qm3x9Lr2Vt7Kp1Zw8Nc4Hy6Bd0Fs5Gj";
const std::string kOldRefresh = "old-refresh-Tz4Wq8Xe2Rn6Yu1Io9Pl3Ak7Sd5Fg0H";
const std::string kNewAccess = "new-access-Mb7Nv3Cx1Zl9Kj5Hg2Fd8Sa4Qw6Er0T";
const std::string kNewRefresh = "new-refresh-Yp2Ou6It0Re4Wq8Az3Sx7Dc1Fv5Gb9";
const std::string kClientSecret = "client-secret-Hn4Jm8Ku2Lo6Ip0Zx3Cv7Bn1Mq5W";

std::string upper(std::string_view text) {
  std::string out{text};
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

TEST(UnsavedSecretsScrubTest, APersistErrorQuotingTheRedeemedTokensReachesNoText) {
  FakeTransport transport;
  transport.on(kToken, [](const Request&) -> TransportResult {
    return json_response(200, R"({"access_token":")" + kNewAccess + R"(","refresh_token":")" +
                                  kNewRefresh + R"(","token_type":"Bearer","expires_in":3600})");
  });
  transport.on(kApi, [](const Request& request) -> TransportResult {
    const bool old = request.headers.get("authorization") == "Bearer " + kOldAccess;
    return json_response(old ? 401 : 200, old ? R"({"error":"expired"})" : "{}");
  });
  // The persist hook fails and quotes everything it was handed, reshaped as a log might.
  store::Memory store{[](const Credential& c) -> Result<void> {
    const std::string access{c.token.reveal()};
    const std::string refresh{c.refresh_token.reveal()};
    return unexpected(make_error(
        Errc::persist_failed, "cannot write {access: " + upper(access) + ", refresh: " +
                                  refresh.substr(0, 20) + "\n " + refresh.substr(20) + ", tail " +
                                  access.substr(17) + ", client " + kClientSecret + "}"));
  }};
  FakeClock clock;
  std::ostringstream lines;
  RC rc{transport, Credential::oauth(kOldAccess, kOldRefresh, std::nullopt),
        RC::Options{.profile = "unsaved", .jitter_seed = 1},
        RC::Components{.refresh = refresh::OAuth2RefreshToken{{
                           .token_url = kToken,
                           .client_id = "keyward-tests",
                           .client_secret = Secret{kClientSecret},
                           .client_auth = refresh::ClientAuth::client_secret_post,
                       }},
                       .store = std::move(store),
                       .clock = clock,
                       .sleeper = RecordingSleeper{clock},
                       .observer = observe::JsonLines{lines}}};

  auto result = rc.send(Request{.method = "POST", .url = kApi, .headers = {}, .body = "{}"});

  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::persist_failed);
  EXPECT_NE(result.error().message.find("cannot write {access: [redacted]"), std::string::npos)
      << result.error().message;
  const Status status = rc.status();
  const std::vector<std::string> texts{result.error().message, status.last_error,
                                       status.refresh_error, to_json(status), lines.str()};
  for (const std::string& text : texts) {
    for (const std::string& secret :
         {kOldAccess, kOldRefresh, kNewAccess, kNewRefresh, kClientSecret}) {
      EXPECT_EQ(secret_run_in(text, secret), "") << text;
    }
  }
  EXPECT_NE(lines.str().find("refresh_failed"), std::string::npos);
}

struct FilePolicies : JsonPolicies {
  using Store = store::File;
};
using FileRC = ResilientCredential<FakeTransport, FilePolicies>;

TEST(UnsavedSecretsScrubTest, ARecordedRefusalKeepsNoPieceOfTheClientSecret) {
  // The store records, for every other holder, what the token endpoint answered when it refused
  // a refresh token: its error code, scrubbed. An endpoint that puts the client secret (sent in
  // the body) there must not have it written to the credentials file.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("keyward-unsaved-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "credentials.json").string();
  FakeTransport transport;
  transport.on(kApi, [](const Request&) -> TransportResult {
    return json_response(401, R"({"error":"expired"})");
  });
  FakeClock clock;
  std::ostringstream lines;
  {
    FileRC rc{transport, Credential::oauth(kOldAccess, kOldRefresh, std::nullopt),
              FileRC::Options{.profile = "unsaved", .jitter_seed = 1},
              FileRC::Components{.refresh = refresh::OAuth2RefreshToken{{
                                     .token_url = kToken,
                                     .client_id = "keyward-tests",
                                     .client_secret = Secret{kClientSecret},
                                     .client_auth = refresh::ClientAuth::client_secret_post,
                                 }},
                                 .store = store::File{path, "unsaved"},
                                 .clock = clock,
                                 .sleeper = RecordingSleeper{clock},
                                 .observer = observe::JsonLines{lines}}};
    transport.on(kToken, [](const Request&) -> TransportResult {
      return json_response(400, R"({"error":"invalid_grant)" + kClientSecret + R"("})");
    });
    static_cast<void>(rc.send(Request{.method = "POST", .url = kApi, .headers = {}, .body = "{}"}));
  }
  const auto stored = store::File{path, "unsaved"}.load();
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(stored);
  ASSERT_TRUE(stored->refresh_refused) << "no refusal recorded";
  EXPECT_EQ(secret_run_in(stored->refresh_refused->reason, kClientSecret), "")
      << stored->refresh_refused->reason;
  EXPECT_EQ(secret_run_in(lines.str(), kClientSecret), "") << lines.str();
}

}  // namespace
}  // namespace keyward
