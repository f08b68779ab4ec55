// One process of the stores' fleet tests: loads a profile from a credentials file (or from Redis,
// given as redis://127.0.0.1:PORT), sends one request through ResilientCredential with that store,
// and exits 0 when the API answered 200, 1 otherwise (the error on standard error), 3 when told
// to die mid-refresh. With --take-lease it only takes the profile's refresh lease in Redis (a
// lease_ttl of TTL_MS) and exits without releasing it: 0 when it held the lease, 1 when not
// (tests/store/redis_store_test.cpp: a holder that dies).
//
//   keyward_store_child CREDENTIALS_FILE|redis://127.0.0.1:PORT PROFILE SERVER_FILE [before|after]
//   keyward_store_child redis://127.0.0.1:PORT PROFILE --take-lease TTL_MS
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "keyward/resilient_credential.hpp"
#include "keyward/store/file.hpp"
#ifdef KEYWARD_STORE_CHILD_REDIS
#include "keyward/store/redis.hpp"
#endif
#include "store/fleet_server.hpp"
#include "support/fake_transport.hpp"

namespace {

template <class S>
struct FleetPolicies : keyward::DefaultPolicies {
  using Refresh = keyward::testing::FleetRefresh;
  using Store = S;
};

template <class Store>
int run(Store store, const char* profile, const char* server_file, const char* die) {
  const keyward::testing::FleetServer server{server_file};
  keyward::testing::FakeTransport transport;
  transport.on("https://api.fleet.test/", [&](const keyward::Request& r) { return server.api(r); });
  auto stored = store.load();
  if (!stored || stored->generation == 0) {
    std::cerr << "no credential: " << (stored ? "profile missing" : stored.error().message) << "\n";
    return 2;
  }
  keyward::ResilientCredential<keyward::testing::FakeTransport, FleetPolicies<Store>> api{
      transport,
      *stored,
      {.profile = profile},
      {.refresh = {.server = server_file, .die = die}, .store = std::move(store)}};
  auto response = api.send(keyward::Request{.method = "GET", .url = "https://api.fleet.test/v1"});
  if (!response) {
    std::cerr << response.error().message << "\n";
    return 1;
  }
  return response->status == 200 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: keyward_store_child CREDENTIALS_FILE|redis://127.0.0.1:PORT PROFILE "
                 "SERVER_FILE [before|after]\n";
    return 2;
  }
  const std::string where = argv[1];
  const char* die = argc > 4 ? argv[4] : "";
  if (where.starts_with("redis://127.0.0.1:")) {
#ifdef KEYWARD_STORE_CHILD_REDIS
    const auto redis = [&](int lease_ms) {
      return keyward::store::Redis{{.port = std::stoi(where.substr(18)),
                                    .profile = argv[2],
                                    .lease_ttl = std::chrono::milliseconds{lease_ms},
                                    .poll = std::chrono::milliseconds{20}}};
    };
    if (std::string_view{argv[3]} == "--take-lease" && argc > 4) {
      auto store = redis(std::atoi(argv[4]));  // outlives the lease it holds
      auto taken = store.lease(std::chrono::milliseconds{0});
      ::_exit(taken && taken->held() ? 0 : 1);  // no destructor runs: nothing is released
    }
    // KEYWARD_CHILD_LEASE_MS: a short lease for the crash trials, whose killed holders would
    // otherwise keep it for the default 15 s.
    const char* lease = std::getenv("KEYWARD_CHILD_LEASE_MS");
    return run(redis(lease != nullptr ? std::atoi(lease) : 15000), argv[2], argv[3], die);
#else
    std::cerr << "built without hiredis\n";
    return 2;
#endif
  }
  return run(keyward::store::File{where, argv[2]}, argv[2], argv[3], die);
}
