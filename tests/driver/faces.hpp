// The scaffolding of the driver's typed tests (tests/driver/*_test.cpp): the one request loop
// (detail/driver.hpp) through both of its faces, a ResilientCredential and a CredentialPool of
// one profile, each blocking and asynchronous (async.hpp, async_pool.hpp), behind one
// interface. Every test runs against all four, on the fake clock and a
// recording sleeper (no test sleeps or reads the real clock). What is about choosing among
// profiles (the panic rule included) stays in pool_test.cpp, and what only one face's API has
// stays with that face's tests.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "keyward/pool.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/store/memory.hpp"
#include "support/fake_clock.hpp"
#if __has_include(<asio.hpp>)
#include <asio/io_context.hpp>

#include "keyward/async.hpp"
#include "keyward/async_pool.hpp"
#include "support/async_setup.hpp"
#define KEYWARD_TEST_ASYNC 1
#endif
#include "support/fake_oauth_server.hpp"
#include "support/fake_transport.hpp"
#include "support/policies.hpp"
#include "support/recording_observer.hpp"

namespace keyward::testing {

/// The single credential on transport `Tr`.
template <class Tr>
struct SingleOn {
  template <class P = ObservedPolicies>
  using Subject = ResilientCredential<Tr, P>;

  /// Built from `credential`, with `options` (named after its profile) and `parts`, in `store`.
  template <class P = ObservedPolicies>
  static std::unique_ptr<Subject<P>> build(const FakeTransport& transport,
                                           const Credential& credential, CredentialOptions options,
                                           Components<P> parts, typename P::Store store = {}) {
    parts.store = std::move(store);
    return std::make_unique<Subject<P>>(transport, credential, std::move(options),
                                        std::move(parts));
  }
  /// Built from what `store` held.
  template <class P = ObservedPolicies>
  static std::unique_ptr<Subject<P>> build_stored(const FakeTransport& transport,
                                                  const StoredCredential& loaded,
                                                  CredentialOptions options, Components<P> parts,
                                                  typename P::Store store) {
    parts.store = std::move(store);
    return std::make_unique<Subject<P>>(transport, loaded, std::move(options), std::move(parts));
  }
  template <class S>
  static Result<Response> send(S& subject, const Request& request) {
    return subject.send(request);
  }
  template <class S>
  static Status status(const S& subject) {
    return subject.status();
  }
  template <class S>
  static Result<void> set_credential(S& subject, Credential credential) {
    return subject.set_credential(std::move(credential));
  }
  /// Probes the credential with `request`, at once even while it is out.
  template <class S>
  static Result<Response> probe(S& subject, Request request) {
    return subject.probe(std::move(request));
  }
  /// The code of the error a request gets when the credential cannot serve it: its own.
  static constexpr Errc out(Errc own) noexcept { return own; }
};

/// The single credential.
struct Single : SingleOn<FakeTransport> {};

/// A pool of one profile on transport `Tr`. Its panic rule is off: it is selection
/// (pool_test.cpp), and with it a pool of one probes an estimated window early by design
/// (docs/pool.md).
template <class Tr>
struct PoolOfOneOn {
  template <class P = ObservedPolicies>
  using Subject = CredentialPool<Tr, P>;

  static PoolOptions pool_options(CredentialOptions credential) {
    PoolOptions options;
    options.provider = "example";
    options.panic_interval = std::chrono::milliseconds::zero();
    options.credential = std::move(credential);
    return options;
  }
  template <class P = ObservedPolicies>
  static std::unique_ptr<Subject<P>> build(const FakeTransport& transport,
                                           const Credential& credential, CredentialOptions options,
                                           Components<P> parts, typename P::Store store = {}) {
    std::vector<typename Subject<P>::Profile> profiles;
    profiles.push_back({options.profile, credential, 1, std::move(store)});
    return std::make_unique<Subject<P>>(transport, std::move(profiles),
                                        pool_options(std::move(options)), std::move(parts));
  }
  template <class P = ObservedPolicies>
  static std::unique_ptr<Subject<P>> build_stored(const FakeTransport& transport,
                                                  const StoredCredential& loaded,
                                                  CredentialOptions options, Components<P> parts,
                                                  typename P::Store store) {
    std::vector<typename Subject<P>::StoredProfile> profiles;
    profiles.push_back({options.profile, loaded, 1, std::move(store)});
    return std::make_unique<Subject<P>>(transport, std::move(profiles),
                                        pool_options(std::move(options)), std::move(parts));
  }
  template <class S>
  static Result<Response> send(S& subject, const Request& request) {
    Request copy = request;
    return subject.send(copy);
  }
  template <class S>
  static Status status(const S& subject) {
    return subject.status().profiles.front().credential;
  }
  template <class S>
  static Result<void> set_credential(S& subject, Credential credential) {
    return subject.set_credential(status(subject).profile, std::move(credential));
  }
  /// Probes the profile with `request`, at once even while it is out.
  template <class S>
  static Result<Response> probe(S& subject, Request request) {
    return subject.probe(status(subject).profile, std::move(request));
  }
  /// The code of the error a request gets when its one profile cannot serve it: the pool's one
  /// all-out error, whose message carries the profile's own (docs/pool.md).
  static constexpr Errc out(Errc /*own*/) noexcept { return Errc::no_usable_credential; }
};

/// A pool of one profile.
struct PoolOfOne : PoolOfOneOn<FakeTransport> {};

#if defined(KEYWARD_TEST_ASYNC)
/// async_send() of `request` through `api` (an asynchronous face on `io`), with a callback (no
/// executor of its own: the steps run on this thread's loop, as the blocking faces run on the
/// caller's thread), run to completion.
template <class Api>
Result<Response> run_to_completion(asio::io_context& io, Api& api, const Request& request) {
  Got got;
  api.async_send(request, got.callback());
  io.run();
  return got.take();
}

/// The single credential's asynchronous face (async.hpp): each send is an async_send() on an
/// io_context of its own, run to completion; the rest is the credential's own API.
struct AsyncSingle : SingleOn<FakeAsyncTransport> {
  template <class S>
  static Result<Response> send(S& subject, const Request& request) {
    asio::io_context io;
    AsyncCredential api{subject, io.get_executor(), 1};
    return run_to_completion(io, api, request);
  }
};

/// The pool's asynchronous face (async_pool.hpp) over a pool of one: each send is an
/// async_send() on an io_context of its own, run to completion; the rest is the pool's own API.
struct AsyncPoolOfOne : PoolOfOneOn<FakeAsyncTransport> {
  template <class S>
  static Result<Response> send(S& subject, const Request& request) {
    asio::io_context io;
    AsyncPool api{subject, io.get_executor(), 1};
    return run_to_completion(io, api, request);
  }
};
#endif

/// FakeOAuthServer's API, where most driver tests send.
inline const std::string kApi{kApiUrl};
/// The static key of make_static().
inline const std::string kApiKey = "sk-test-key-0123456789abcdefWXYZ";
/// The static key of DriverFacesTest::make().
inline const std::string kFaceKey = "sk-face-key-0123456789abcdefWXYZ";

/// The fixture: a transport, a clock and a sleeper, and a subject with a static key.
template <class Face>
class DriverFacesTest : public ::testing::Test {
 protected:
  using Subject = typename Face::template Subject<ObservedPolicies>;
  FakeTransport transport;
  FakeClock clock;
  RecordingSleeper sleeper{clock};

  /// A face named "main" with jitter seed 7, on `transport`, `clock` and `sleeper`.
  static std::unique_ptr<Subject> make(const FakeTransport& transport, const FakeClock& clock,
                                       const RecordingSleeper& sleeper,
                                       const Credential& credential) {
    return Face::template build<ObservedPolicies>(
        transport, credential, CredentialOptions{.profile = "main", .jitter_seed = 7},
        {.clock = clock, .sleeper = sleeper});
  }
  std::unique_ptr<Subject> make(const Credential& credential = Credential::api_key(kFaceKey)) {
    return make(transport, clock, sleeper, credential);
  }
  static Request post() { return Request{.method = "POST", .url = kApi, .body = "{}"}; }
};

/// A POST to FakeOAuthServer's API.
inline Request api_request() {
  return Request{.method = "POST", .url = kApi, .headers = {}, .body = "{}"};
}

/// The request's authorization header ("" when none).
inline std::string bearer_of(const Request& request) {
  return std::string{request.headers.get("authorization").value_or("")};
}

/// A static key, profile "static", on `transport` and `clock`.
template <class Face>
auto make_static(const FakeTransport& transport, FakeClock clock,
                 Credential credential = Credential::api_key(kApiKey)) {
  return Face::template build<ObservedPolicies>(
      transport, std::move(credential), CredentialOptions{.profile = "static", .jitter_seed = 7},
      {.clock = clock, .sleeper = RecordingSleeper{clock}});
}

/// An OAuth credential against FakeOAuthServer through `Face`, with a persist hook that records
/// every stored refresh token and checks that the new access token was not used before it was
/// stored.
template <class Face>
struct OAuthSetup {
  using Subject = typename Face::template Subject<ObservedOAuthPolicies>;
  FakeTransport transport;
  FakeOAuthServer server{transport};
  FakeClock clock;
  RecordingSleeper sleeper{clock};
  RecordingObserver observer;
  struct Store {
    std::mutex mutex;
    std::vector<std::string> refresh_tokens;
    std::atomic<bool> fail{false};
    std::atomic<bool> used_before_persisted{false};
  };
  std::shared_ptr<Store> store = std::make_shared<Store>();
  std::string access;
  std::string refresh_token;

  OAuthSetup() { std::tie(access, refresh_token) = server.login(); }

  [[nodiscard]] static refresh::OAuth2RefreshToken strategy() {
    return refresh::OAuth2RefreshToken{
        {.token_url = std::string{kTokenUrl}, .client_id = "keyward-tests"}};
  }

  /// The user's persist hook, expressed through the default store.
  [[nodiscard]] store::Memory persisting_store() const {
    auto shared = store;
    auto seen = transport;
    return store::Memory{[shared, seen](const Credential& c) -> Result<void> {
      const std::string bearer = "Bearer " + std::string{c.token.reveal()};
      for (const auto& r : seen.requests()) {
        if (bearer_of(r) == bearer) shared->used_before_persisted = true;
      }
      if (shared->fail) return unexpected(make_error(Errc::persist_failed, "disk full"));
      const std::scoped_lock lock(shared->mutex);
      shared->refresh_tokens.emplace_back(c.refresh_token.reveal());
      return {};
    }};
  }

  /// The face, profile "anthropic-main" unless `options` names one, jitter seed 42.
  std::unique_ptr<Subject> make(std::optional<TimePoint> expires_at = std::nullopt,
                                CredentialOptions options = {}) {
    if (options.profile == "default") options.profile = "anthropic-main";
    options.jitter_seed = 42;
    return Face::template build<ObservedOAuthPolicies>(
        transport, Credential::oauth(access, refresh_token, expires_at), std::move(options),
        {.refresh = strategy(), .clock = clock, .sleeper = sleeper, .observer = observer},
        persisting_store());
  }
};

#if defined(KEYWARD_TEST_ASYNC)
using Faces = ::testing::Types<Single, PoolOfOne, AsyncSingle, AsyncPoolOfOne>;
#else
using Faces = ::testing::Types<Single, PoolOfOne>;
#endif
/// "Single", "PoolOfOne", "AsyncSingle" and "AsyncPoolOfOne" in test names.
class FaceNames {
 public:
  template <class Face>
  static std::string GetName(int /*index*/) {
    if (std::is_same_v<Face, Single>) return "Single";
    if (std::is_same_v<Face, PoolOfOne>) return "PoolOfOne";
    return std::is_same_v<Face, AsyncSingle> ? "AsyncSingle" : "AsyncPoolOfOne";
  }
};
TYPED_TEST_SUITE(DriverFacesTest, Faces, FaceNames);

}  // namespace keyward::testing
