// What the shared-cooldown tests of store::File and store::OpenClaw
// (tests/store/{file,openclaw}_cooldown_test.cpp) drive against a real server on 127.0.0.1:
// ResilientCredentials holding one stored credential, on a FakeClock set to the real time (the
// stores' windows are epoch milliseconds), with the requests that reached the API counted.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

#include "keyward/provider/anthropic.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/transport/httplib.hpp"
#include "support/fake_clock.hpp"
#include "support/http_servers.hpp"
#include "support/transports.hpp"

namespace keyward::testing {

/// A test fixture's second base: holders of a credential stored in an `S`, and the server.
template <class S>
class CooldownHttpRig {
 public:
  /// Anthropic's bundle, stored in an `S`, on the fake clock.
  struct Policies : provider::Anthropic {
    using Store = S;
    using Clock = FakeClock;
    using Sleeper = RecordingSleeper;
  };
  /// One holder of the credential.
  using Api = ResilientCredential<transport::Httplib, Policies>;

 protected:
  /// Sets the clock to `now`, the time the store's windows are written against.
  void start_at(TimePoint now) { clock_.advance(now - clock_.now()); }

  /// A holder of the credential in `store`, as `profile`, sharing its cooldowns there.
  [[nodiscard]] Api holder(S store, std::string_view profile) {
    auto loaded = store.load();
    EXPECT_TRUE(loaded) << loaded.error().message;
    return Api{
        make_transport<transport::Httplib>(), *loaded,
        CredentialOptions{.profile = std::string{profile}},
        Components<Policies>{.store = std::move(store), .clock = clock_, .sleeper = sleeper_}};
  }

  /// A Messages request to the server.
  [[nodiscard]] Request message() const {
    Request request{.method = "POST", .url = server_.api_url()};
    request.headers.set("content-type", "application/json");
    request.body = R"({"model":"claude-test"})";
    return request;
  }

  /// The requests that reached the server's API route.
  [[nodiscard]] int api_requests() const {
    int n = 0;
    for (const auto& r : server_.received()) n += r.route == Route::api ? 1 : 0;
    return n;
  }

  ProviderServer server_;
  FakeClock clock_;
  RecordingSleeper sleeper_{clock_};
};

}  // namespace keyward::testing
