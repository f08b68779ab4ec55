// Real HTTP servers for the transport tests: a provider API and its OAuth 2.0 token endpoint, on
// 127.0.0.1 at a port the system chooses, served by cpp-httplib from a thread of their own.
//
// The API checks credentials as Anthropic's does (x-api-key for API keys; Authorization: Bearer
// with the OAuth beta flag for OAuth tokens), answering with the fixtures' bodies, and streams
// server-sent events like its messages API when the request asks for a stream. The token
// endpoint redeems refresh tokens with rotation and reuse detection: a consumed refresh token
// presented again gets invalid_grant and revokes the whole grant, as real authorization servers
// do. Tests script faults for either endpoint (a status, a hang, a reset, a huge or trickled body,
// a stream cut mid-event, a redirect) and read back every request the server received.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace keyward::testing {

/// Which endpoint a fault or a recorded request belongs to.
enum class Route : unsigned char { api, token };

/// What an endpoint does instead of its normal answer.
struct Fault {
  enum class Kind : unsigned char {
    status,          ///< Answers `status` with `headers` and `body`.
    hang,            ///< Accepts the request and never answers (until the server stops).
    reset_mid_body,  ///< Announces a body, sends part of it, and closes the connection.
    huge_body,       ///< A 200 whose body is `size` bytes of `x`, its length in the head.
    announced_only,  ///< A 200 announcing `size` bytes of body, none sent (until the server stops).
    trickle,         ///< A 200 whose body comes one byte every `interval`.
    stream_cut,      ///< An event stream cut in the middle of an event.
    stream_error,    ///< An event stream that carries an `event: error` of `body`'s type.
    redirect,        ///< Answers `status` (3xx) with Location: `location`.
    slow,            ///< Answers as it normally would, `interval` later.
    stream_paced,    ///< The API's event stream, its events `interval` apart.
    held,            ///< Answers as it normally would once release_held() is called (or
                     ///< `interval` has passed).
  };
  Kind kind = Kind::status;                      ///< What happens.
  int status = 500;                              ///< For status and redirect.
  std::map<std::string, std::string> headers{};  ///< For status.
  std::string body{};                            ///< For status; the error type for stream_error.
  std::string location{};                        ///< For redirect.
  std::size_t size = 0;                          ///< For huge_body and announced_only.
  std::chrono::milliseconds interval{100};       ///< For trickle, slow, stream_paced, held.
  int times = 1;                                 ///< How many requests it affects.
};

/// One request the server received.
struct Received {
  Route route = Route::api;                         ///< Which endpoint.
  std::string method;                               ///< Its method.
  std::string path;                                 ///< Its path.
  std::multimap<std::string, std::string> headers;  ///< Its header fields, names lower-cased.
  std::string body;                                 ///< Its body.
  int remote_port = -1;  ///< The client's port: requests on one connection share it.
};

/// A provider API and token endpoint on 127.0.0.1.
class ProviderServer {
 public:
  /// Starts serving; closes a connection idle for `keep_alive`; throws std::runtime_error when
  /// no port can be bound.
  explicit ProviderServer(std::chrono::seconds keep_alive = std::chrono::seconds{1});
  ProviderServer(const ProviderServer&) = delete;
  ProviderServer& operator=(const ProviderServer&) = delete;
  ProviderServer(ProviderServer&&) = delete;
  ProviderServer& operator=(ProviderServer&&) = delete;
  /// Stops serving (releasing any hung request) and joins the server thread.
  ~ProviderServer();

  /// "http://127.0.0.1:<port>".
  [[nodiscard]] std::string origin() const;
  /// The messages API: origin() + "/v1/messages".
  [[nodiscard]] std::string api_url() const { return origin() + "/v1/messages"; }
  /// The token endpoint: origin() + "/v1/oauth/token".
  [[nodiscard]] std::string token_url() const { return origin() + "/v1/oauth/token"; }
  /// The port.
  [[nodiscard]] int port() const noexcept { return port_; }

  /// An API key the API accepts.
  [[nodiscard]] std::string api_key() const;
  /// Logs in: a new grant, its access token and its refresh token.
  [[nodiscard]] std::pair<std::string, std::string> login();
  /// Makes every access token issued so far invalid (the API answers 401, as for an expired one).
  void expire_access_tokens();
  /// Revokes every grant: no refresh token works any more.
  void revoke_grants();
  /// The refresh token the endpoint currently accepts for the newest grant (empty if revoked).
  [[nodiscard]] std::string current_refresh_token() const;
  /// Access tokens issued by the token endpoint so far.
  [[nodiscard]] int refreshes() const;

  /// Stops listening: connections to the port are refused until come_back().
  void go_down();
  /// Listens again on the same port.
  void come_back();

  /// Scripts `fault` for the next requests to `route`.
  void fault(Route route, Fault fault);
  /// Removes every scripted fault.
  void clear_faults();
  /// Lets the requests a `held` fault holds (and any to come) be answered.
  void release_held();
  /// How many requests a `held` fault holds now.
  [[nodiscard]] int holding() const;
  /// Every request received so far.
  [[nodiscard]] std::vector<Received> received() const;

 private:
  void listen();

  struct State;
  std::shared_ptr<State> state_;
  int port_ = 0;
};

}  // namespace keyward::testing
