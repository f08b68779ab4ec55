// A token endpoint that echoes the request back in its error answer, over real sockets with both
// transports: the refresh token form-encoded in the body, the Basic credentials built from the
// client secret, and reshaped copies of them (upper-cased, wrapped across a line, cut at either
// end). None of these forms may reach the caller's error, status() or the JSON-lines events
// (docs/http.md, "Scrubbing").

#ifdef KEYWARD_TEST_HTTPLIB

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "keyward/detail/text.hpp"
#include "keyward/observe/json_lines.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/resilient_credential.hpp"
#include "support/secret_runs.hpp"
#include "support/transports.hpp"

namespace keyward::testing {
namespace {

const std::string kAccess = "echo-access-Qm3x9Lr2Vt7Kp1Zw8Nc4Hy6Bd0Fs5Gj";
const std::string kRefresh = "1//0gEcho+Refresh/Tz4Wq8Xe2Rn6Yu1Io9Pl3Ak7Sd5";
const std::string kClientId = "keyward-echo-client";
const std::string kClientSecret = "echo-client-secret-Hn4Jm8Ku2Lo6Ip0Zx3Cv7Bn1";

std::string upper(std::string_view text) {
  std::string out{text};
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Every form of each secret keyward may have written: as it is, form-encoded, and the base64
// of the Basic pair.
std::vector<std::string> secret_forms() {
  std::vector<std::string> forms{kAccess, kRefresh, kClientSecret};
  std::string form;
  detail::append_form_encoded(form, kRefresh);
  forms.push_back(form);
  std::string pair;
  detail::append_form_encoded(pair, kClientId);
  pair += ':';
  detail::append_form_encoded(pair, kClientSecret);
  forms.push_back(detail::base64_encode(pair));
  return forms;
}

// On 127.0.0.1: the API refuses every token; the token endpoint answers `status` with `error`,
// its description the request echoed and reshaped.
class EchoServer {
 public:
  EchoServer(int status, std::string error) {
    server_.Post("/token", [status, error](const httplib::Request& req, httplib::Response& res) {
      const std::string auth = req.get_header_value("Authorization");
      const std::string& body = req.body;
      // The shortest first: the classifier keeps 512 bytes of a message, and the cut falls
      // inside the last copy.
      std::string echo;
      const std::size_t at = body.find("refresh_token=1");
      if (at != std::string::npos) {
        const std::string token = body.substr(at + 14, body.find('&', at) - at - 14);
        echo += "tail " + token.substr(17) + "; head " + token.substr(0, 40) + "more-text; ";
      }
      echo += "wrapped " + body.substr(0, 40) + "\n " + body.substr(40) + "; AUTH " + upper(auth) +
              "; body " + body + "; auth " + auth + "; up " + upper(body);
      std::string json = R"({"error":")" + error + R"(","error_description":)";
      detail::append_json_string(json, echo);
      res.status = status;
      res.set_content(json + "}", "application/json");
    });
    server_.Post("/v1/messages", [](const httplib::Request&, httplib::Response& res) {
      res.status = 401;
      res.set_content(R"({"error":"expired"})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // Bound and listening already: a connection made before the thread runs waits for it.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  EchoServer(EchoServer&&) = delete;
  EchoServer& operator=(EchoServer&&) = delete;
  ~EchoServer() {
    server_.stop();
    thread_.join();
  }
  [[nodiscard]] std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string{path};
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

template <class T>
class EchoedSecretsTest : public ::testing::Test {};
TYPED_TEST_SUITE(EchoedSecretsTest, TransportTypes, TransportNames);

struct EchoPolicies : DefaultPolicies {
  using Refresh = refresh::OAuth2RefreshToken;
  using Observer = observe::JsonLines;
};

TYPED_TEST(EchoedSecretsTest, NoFormOfASecretReachesTheErrorStatusOrEvents) {
  // invalid_grant: the refresh token refused; invalid_client: the client configuration.
  for (const auto& [code, error] :
       std::vector<std::pair<int, std::string>>{{400, "invalid_grant"}, {401, "invalid_client"}}) {
    SCOPED_TRACE(error);
    EchoServer server{code, error};
    std::ostringstream lines;
    ResilientCredential<TypeParam, EchoPolicies> rc{
        make_transport<TypeParam>(),
        Credential::oauth(kAccess, kRefresh,
                          std::chrono::system_clock::now() - std::chrono::minutes{1}),
        {.profile = "echo"},
        {.refresh = refresh::OAuth2RefreshToken{{
             .token_url = server.url("/token"),
             .client_id = kClientId,
             .client_secret = Secret{kClientSecret},
             .client_auth = refresh::ClientAuth::client_secret_basic,
         }},
         .observer = observe::JsonLines{lines}}};

    auto result =
        rc.send(Request{.method = "POST", .url = server.url("/v1/messages"), .body = "{}"});

    ASSERT_FALSE(result);
    const std::string& message = result.error().message;
    EXPECT_NE(message.find("body grant_type=refresh_token"), std::string::npos) << message;
    const Status status = rc.status();
    for (const std::string& text :
         {message, status.last_error, status.refresh_error, to_json(status), lines.str()}) {
      for (const std::string& form : secret_forms()) {
        EXPECT_EQ(secret_run_in(text, form), "") << text;
      }
    }
  }
}

}  // namespace
}  // namespace keyward::testing

#endif  // KEYWARD_TEST_HTTPLIB
