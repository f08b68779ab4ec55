// The fault matrix: every fault of the token endpoint and the API, over real HTTP with both
// transports, through ResilientCredential with provider::Anthropic. For each fault the verdict,
// what the caller gets and the state after must be what docs/state-machine.md prescribes, the
// stored refresh token must be the one the server accepts, and the next request after the fault
// clears must succeed. The measured table is docs/faults.md: the test fails when the file and the
// behaviour disagree, and KEYWARD_WRITE_FAULTS=1 rewrites the file from the behaviour.
//
// Longer than most tests: the table's rows and the file's text are data, kept in one place.
#ifdef KEYWARD_TEST_HTTPLIB

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "keyward/provider/anthropic.hpp"
#include "keyward/resilient_credential.hpp"
#include "support/fake_clock.hpp"
#include "support/http_servers.hpp"
#include "support/transports.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;

// Keeps the kind of the last verdict on an API response.
class VerdictObserver {
 public:
  void on_event(const Event& event) {
    if (event.kind == EventKind::verdict && event.verdict != nullptr) {
      *last_ = event.verdict->kind;
    }
  }
  [[nodiscard]] std::optional<VerdictKind> last() const { return *last_; }

 private:
  std::shared_ptr<std::optional<VerdictKind>> last_ =
      std::make_shared<std::optional<VerdictKind>>();
};

// A transport that remembers the kind of the last failure of the transport it wraps.
template <class T>
class Remembering {
 public:
  TransportResult send(const Request& request) { return remember(inner_.send(request)); }
  TransportResult send(const Request& request, StreamHandler& handler) {
    return remember(inner_.send(request, handler));
  }
  [[nodiscard]] std::string last_failure() const { return *last_; }

 private:
  TransportResult remember(TransportResult result) {
    if (!result) *last_ = std::string{to_string(result.error().kind)};
    return result;
  }
  T inner_ = make_transport<T>();
  std::shared_ptr<std::string> last_ = std::make_shared<std::string>("-");
};

struct MatrixPolicies : provider::Anthropic {
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
  using Observer = VerdictObserver;
};

// One fault, and what the docs prescribe for it.
struct Row {
  Route route;
  std::string fault;                           // as the table names it
  std::function<void(ProviderServer&)> start;  // injects the fault
  std::string failure;                         // the transport failure kind expected, or "-"
  std::string verdict;                         // prescribed verdict kind
  std::string outcome;                         // prescribed result for the caller
  std::string state;                           // prescribed state afterwards
  bool stream = false;                         // the request streams
  bool person = false;                         // recovery needs a new login (set_credential)
};

Fault times(Fault fault, int n) {
  fault.times = n;
  return fault;
}

std::vector<Row> rows() {
  using K = Fault::Kind;
  const auto script = [](Route route, Fault fault) {
    return [route, fault](ProviderServer& s) { s.fault(route, times(fault, 10)); };
  };
  const Fault s500{.status = 500, .body = R"({"error":"server_error"})"};
  const Fault s503{
      .status = 503, .headers = {{"retry-after", "7"}}, .body = R"({"error":"unavailable"})"};
  const Fault not_json{.status = 200, .body = "<html>Service Unavailable</html>"};
  const Fault no_token{.status = 200, .body = R"({"token_type":"Bearer","expires_in":3600})"};
  const Fault invalid_grant{.status = 400,
                            .body = R"({"error":"invalid_grant","error_description":"revoked"})"};
  const Fault invalid_client{.status = 401, .body = R"({"error":"invalid_client"})"};
  const Fault huge{.kind = K::huge_body, .size = std::size_t{10} << 20U};
  const Fault trickle{.kind = K::trickle};
  const auto down = [](ProviderServer& s) { s.go_down(); };
  const Route T = Route::token;
  const Route A = Route::api;
  return {
      {T, "500", script(T, s500), "-", "transient", "error refresh_failed", "ready"},
      {T, "503 with Retry-After: 7", script(T, s503), "-", "transient", "error refresh_failed",
       "ready"},
      {T, "connection refused", down, "connect", "transient", "error refresh_failed", "ready"},
      {T, "accepts, never answers", script(T, {.kind = K::hang}), "timeout", "transient",
       "error refresh_failed", "ready"},
      {T, "connection closed mid-body", script(T, {.kind = K::reset_mid_body}), "protocol",
       "transient", "error refresh_failed", "ready"},
      {T, "200 that is not JSON", script(T, not_json), "-", "transient", "error refresh_failed",
       "ready"},
      {T, "200 without access_token", script(T, no_token), "-", "transient", "error refresh_failed",
       "ready"},
      {T, "invalid_grant", script(T, invalid_grant), "-", "unauthenticated", "error needs_reauth",
       "needs_reauth", false, true},
      {T, "invalid_client", script(T, invalid_client), "-", "misconfigured", "error needs_reauth",
       "needs_reauth", false, true},
      {T, "10 MB body", script(T, huge), "protocol", "transient", "error refresh_failed", "ready"},
      {T, "body trickled 1 byte / 100 ms", script(T, trickle), "timeout", "transient",
       "error refresh_failed", "ready"},
      {A, "500", script(A, s500), "-", "transient", "HTTP 500", "ready"},
      {A, "503 with Retry-After: 7", script(A, s503), "-", "transient",
       "HTTP 503 after 2 attempts, the second after the server's 7 s", "ready"},
      {A, "connection refused", down, "connect", "transient", "error transport_failed", "ready"},
      {A, "accepts, never answers", script(A, {.kind = K::hang}), "timeout", "transient",
       "error transport_failed", "ready"},
      {A, "connection closed mid-body", script(A, {.kind = K::reset_mid_body}), "protocol",
       "transient", "error transport_failed", "ready"},
      {A, "200 that is not JSON", script(A, not_json), "-", "ok", "HTTP 200", "ready"},
      {A, "10 MB body", script(A, huge), "protocol", "transient", "error transport_failed",
       "ready"},
      {A, "body trickled 1 byte / 100 ms", script(A, trickle), "timeout", "transient",
       "error transport_failed", "ready"},
      {A, "stream cut mid-event", script(A, {.kind = K::stream_cut}), "protocol", "transient",
       "error transport_failed (not replayed)", "ready", true},
  };
}

// What one row did.
struct Measured {
  std::string failure;  // the transport's failure kind, "-" for none
  std::string verdict;
  std::string outcome;
  std::string state;
  std::string refresh_token;  // "current" when the store holds the token the server accepts
  std::string recovery;
};

template <class T>
Measured run(const Row& row) {
  using Api = ResilientCredential<Remembering<T>, MatrixPolicies>;
  ProviderServer server;
  FakeClock clock;
  RecordingSleeper sleeper{clock};
  auto [access, refresh] = server.login();
  // A token fault is met by the refresh of an expired token; an API fault by a valid token.
  const TimePoint expiry = row.route == Route::token ? clock.now() - 1s : clock.now() + 1h;
  row.start(server);
  Api api{Remembering<T>{},
          Credential::oauth(access, refresh, expiry),
          {.profile = "matrix", .retry = {.max_attempts = 2}},
          {.refresh = provider::Anthropic::oauth_refresh("test-client", server.token_url()),
           .clock = clock,
           .sleeper = sleeper}};
  Request request{.method = "POST", .url = server.api_url()};
  request.headers.set("content-type", "application/json");
  request.body = row.stream ? R"({"model":"m","stream":true})" : R"({"model":"m"})";
  std::string streamed;
  auto sent = row.stream ? api.send_stream(request,
                                           [&](std::string_view bytes) {
                                             streamed.append(bytes);
                                             return true;
                                           })
                         : api.send(request);
  Measured m;
  const auto api_requests = [&] {
    int n = 0;
    for (const auto& r : server.received()) n += r.route == Route::api ? 1 : 0;
    return n;
  };
  if (sent) {
    m.outcome = "HTTP " + std::to_string(sent->status);
    if (api_requests() > 1) m.outcome += " after " + std::to_string(api_requests()) + " attempts";
    const auto waits = sleeper.waits();
    if (std::find(waits.begin(), waits.end(), 7s) != waits.end()) {
      m.outcome += ", the second after the server's 7 s";
    }
    m.verdict = api.observer().last() ? std::string{to_string(*api.observer().last())} : "?";
  } else {
    m.outcome = "error " + std::string{to_string(static_cast<Errc>(sent.error().code.value()))};
    if (row.stream && api_requests() == 1 && !streamed.empty()) m.outcome += " (not replayed)";
    const auto& verdict = sent.error().verdict;
    m.verdict = verdict                 ? std::string{to_string(verdict->kind)}
                : api.observer().last() ? std::string{to_string(*api.observer().last())}
                                        : "?";
  }
  m.failure = api.transport().last_failure();
  m.state = std::string{to_string(api.status().state)};
  if (row.route == Route::token && api.status().state == CredentialState::ready) {
    m.state += ", refresh backing off";
  }
  if (row.fault == "connection refused") server.come_back();
  m.refresh_token =
      api.store().load()->credential.refresh_token.reveal() == server.current_refresh_token()
          ? "the server's current one"
          : "NOT the server's current one";

  // The fault clears: the next request (after the back-off or, for a person, a new login).
  server.clear_faults();
  clock.advance(10min);
  if (row.person) {
    auto [fresh, fresh_refresh] = server.login();
    if (!api.set_credential(Credential::oauth(fresh, fresh_refresh, clock.now() + 1h))) {
      m.recovery = "set_credential failed";
      return m;
    }
  }
  auto again = api.send(Request{.method = "POST", .url = server.api_url(), .body = "{}"});
  const bool recovered =
      again && again->status == 200 && api.status().state == CredentialState::ready &&
      api.store().load()->credential.refresh_token.reveal() == server.current_refresh_token();
  m.recovery = recovered ? (row.person ? "after a new login (set_credential)"
                                       : "next request once the fault clears")
                         : "DID NOT RECOVER";
  return m;
}

std::string table_row(const Row& row, const Measured& m) {
  return "| " + std::string{row.route == Route::token ? "token endpoint" : "API"} + " | " +
         row.fault + " | " + m.failure + " | " + m.verdict + " | " + m.outcome + " | " + m.state +
         " | " + m.refresh_token + " | " + m.recovery + " |\n";
}

constexpr std::string_view kIntro = R"(# The fault matrix

What keyward does at each fault of a token endpoint and of a provider API, measured over real
HTTP: `tests/transport/fault_matrix_test.cpp` starts a provider API and an OAuth token endpoint
(refresh-token rotation with reuse detection) on 127.0.0.1, injects each fault, and sends through
`ResilientCredential` with `provider::Anthropic` and each shipped transport (`transport::Curl`,
`transport::Httplib`; both must behave alike). This file is written from what the test measured
(`KEYWARD_WRITE_FAULTS=1 build/dev/tests/keyward_tests --gtest_filter='FaultMatrix*'`), and the
test fails when the file and the behaviour disagree. The rules behind each row are in
`docs/state-machine.md`.

Setup of each row: a token-endpoint fault is met by the refresh of an access token that has
expired; an API fault by a request with a valid access token. The transports run with a 300 ms
connect timeout, a 400 ms total timeout and a 1 MiB body bound; the credential with
`retry.max_attempts = 2`. "Recovery" is the next request after the fault clears and, where the
state machine waits, after its back-off (or, where a person must act, after `set_credential()`
with a new login). The API requests are POSTs, which are sent again only when the server cannot
have processed them (`docs/retries.md`): after a 503 with `Retry-After` or a refused connection,
not after a 500, a timeout or a connection closed mid-body.

| endpoint | fault | transport failure | verdict | the caller gets | state after | stored refresh token | recovery |
|---|---|---|---|---|---|---|---|
)";

std::filesystem::path faults_file() {
  return std::filesystem::path{KEYWARD_FIXTURE_DIR}.parent_path().parent_path() / "docs" /
         "faults.md";
}

template <class T>
std::string measure_table() {
  std::string table{kIntro};
  for (const Row& row : rows()) {
    const Measured m = run<T>(row);
    const std::string where =
        std::string{row.route == Route::token ? "token " : "api "} + row.fault;
    EXPECT_EQ(m.failure, row.failure) << where;
    EXPECT_EQ(m.verdict, row.verdict) << where;
    EXPECT_EQ(m.outcome, row.outcome) << where;
    EXPECT_EQ(m.state.substr(0, row.state.size()), row.state) << where;
    EXPECT_EQ(m.refresh_token, "the server's current one") << where;
    EXPECT_NE(m.recovery, "DID NOT RECOVER") << where;
    table += table_row(row, m);
  }
  return table;
}

#ifdef KEYWARD_TEST_CURL
TEST(FaultMatrixTest, CurlBehavesAsDocsFaultsMdSays) {
  const std::string measured = measure_table<transport::Curl>();
  if (const char* write = std::getenv("KEYWARD_WRITE_FAULTS"); write && std::string{write} == "1") {
    std::ofstream{faults_file(), std::ios::binary} << measured;
  }
  std::ifstream in{faults_file(), std::ios::binary};
  std::ostringstream file;
  file << in.rdbuf();
  EXPECT_EQ(file.str(), measured)
      << "docs/faults.md and the behaviour disagree (KEYWARD_WRITE_FAULTS=1 rewrites the file)";
}
#endif

TEST(FaultMatrixTest, HttplibBehavesAsDocsFaultsMdSays) {
  const std::string measured = measure_table<transport::Httplib>();
  std::ifstream in{faults_file(), std::ios::binary};
  std::ostringstream file;
  file << in.rdbuf();
  EXPECT_EQ(file.str(), measured) << "docs/faults.md and the behaviour disagree";
}

}  // namespace
}  // namespace keyward::testing

#endif  // KEYWARD_TEST_HTTPLIB
