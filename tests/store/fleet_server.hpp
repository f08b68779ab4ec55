// A token endpoint and API shared by several processes, for the file store's fleet tests: its
// state is a small file updated under flock(), so every test process sees one server. Like real
// authorization servers (RFC 9700), it rotates refresh tokens and treats a spent one presented
// again as theft: the whole grant is revoked and every later refresh gets invalid_grant.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "keyward/credential.hpp"
#include "keyward/error.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/result.hpp"
#include "keyward/transport.hpp"

namespace keyward::testing {

/// The server's state as stored in its file.
struct FleetState {
  std::string access;
  std::string refresh;
  int issued = 0;         // tokens issued so far
  int refresh_calls = 0;  // token endpoint calls
  bool revoked = false;   // a spent refresh token came back: the grant is gone
};

/// A file-backed server; every method locks the file for its whole read-modify-write.
class FleetServer {
 public:
  explicit FleetServer(std::string path) : path_(std::move(path)) {}

  /// Starts a grant, as a login does; returns its tokens.
  FleetState login() const {
    return update([](FleetState& s) { issue(s); });
  }
  /// The state now.
  FleetState state() const {
    return update([](FleetState&) {});
  }
  /// Redeems `refresh`: new tokens, or invalid_grant (revoking the grant on reuse).
  Result<RefreshOutcome> redeem(const std::string& refresh) const {
    bool refused = false;
    const FleetState s = update([&](FleetState& state) {
      ++state.refresh_calls;
      if (state.revoked || refresh != state.refresh) {
        state.revoked = true;
        refused = true;
        return;
      }
      issue(state);
    });
    if (refused) {
      Error error = make_error(Errc::needs_reauth, "the token endpoint answered invalid_grant");
      Verdict verdict;
      verdict.kind = VerdictKind::unauthenticated;
      verdict.scope = Scope::credential;
      verdict.status = 400;
      verdict.provider_code = "invalid_grant";
      error.verdict = verdict;
      return unexpected(std::move(error));
    }
    return RefreshOutcome{Credential::oauth(s.access, s.refresh, std::nullopt), std::nullopt, true};
  }
  /// 200 for the current access token, 401 otherwise.
  TransportResult api(const Request& request) const {
    const FleetState s = state();
    const bool ok = !s.revoked && request.headers.get("authorization") == "Bearer " + s.access;
    Response response;
    response.status = ok ? 200 : 401;
    return response;
  }

 private:
  static void issue(FleetState& s) {
    ++s.issued;
    s.access = "fleet-access-" + std::to_string(s.issued) + "-0123456789abcdefghijklmnop";
    s.refresh = "fleet-refresh-" + std::to_string(s.issued) + "-0123456789abcdefghijklmnop";
  }

  // The state is replaced by a rename under a lock of its own, so a process killed in the
  // middle of an update leaves the state before it, as a real server's database would.
  template <class F>
  FleetState update(F change) const {
    const std::string lock = path_ + ".lock";
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) std::abort();
    FleetState s;
    {
      std::ifstream in(path_);
      int revoked = 0;
      in >> s.access >> s.refresh >> s.issued >> s.refresh_calls >> revoked;
      s.revoked = revoked != 0;
    }
    change(s);
    {
      std::ofstream out(path_ + ".new", std::ios::trunc);
      out << (s.access.empty() ? "-" : s.access) << ' ' << (s.refresh.empty() ? "-" : s.refresh)
          << ' ' << s.issued << ' ' << s.refresh_calls << ' ' << (s.revoked ? 1 : 0) << '\n';
    }
    if (std::rename((path_ + ".new").c_str(), path_.c_str()) != 0) std::abort();
    ::close(fd);  // releases the flock
    return s;
  }

  std::string path_;
};

/// A refresh strategy that redeems at a FleetServer; `die` makes the process exit at once,
/// before the token call ("before") or after the server rotated ("after"), as a crash would.
/// The environment variable KEYWARD_FLEET_TOKEN_MS gives the token call a latency.
struct FleetRefresh {
  std::string server;
  std::string die{};

  [[nodiscard]] bool refreshable(const Credential& credential) const {
    return !credential.refresh_token.empty();
  }
  template <class T>
  Result<RefreshOutcome> refresh(const Credential& credential, T& /*transport*/, TimePoint) {
    if (die == "before") ::_exit(3);
    // KEYWARD_FLEET_TOKEN_MS: the token call's latency, half before the server rotates and half
    // after (the crash trials kill processes inside it).
    const char* latency = std::getenv("KEYWARD_FLEET_TOKEN_MS");
    const long half_us = latency != nullptr ? std::strtol(latency, nullptr, 10) * 500 : 0;
    if (half_us > 0) ::usleep(static_cast<useconds_t>(half_us));
    auto outcome = FleetServer{server}.redeem(std::string{credential.refresh_token.reveal()});
    if (half_us > 0) ::usleep(static_cast<useconds_t>(half_us));
    if (die == "after") ::_exit(3);
    return outcome;
  }
};

}  // namespace keyward::testing
