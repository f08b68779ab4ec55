// One process of the file store's fleet tests: loads a profile from a credentials file, sends one
// request through ResilientCredential with that file as its store, and exits 0 when the API
// answered 200, 1 otherwise (the error on standard error), 3 when told to die mid-refresh.
//
//   keyward_store_child CREDENTIALS_FILE PROFILE SERVER_FILE [before|after]
#include <iostream>
#include <string>

#include "keyward/resilient_credential.hpp"
#include "keyward/store/file.hpp"
#include "store/fleet_server.hpp"
#include "support/fake_transport.hpp"

namespace {

struct FleetPolicies : keyward::DefaultPolicies {
  using Refresh = keyward::testing::FleetRefresh;
  using Store = keyward::store::File;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: keyward_store_child CREDENTIALS_FILE PROFILE SERVER_FILE [before|after]\n";
    return 2;
  }
  const keyward::testing::FleetServer server{argv[3]};
  keyward::testing::FakeTransport transport;
  transport.on("https://api.fleet.test/", [&](const keyward::Request& r) { return server.api(r); });

  keyward::store::File store{argv[1], argv[2]};
  auto stored = store.load();
  if (!stored || stored->generation == 0) {
    std::cerr << "no credential: " << (stored ? "profile missing" : stored.error().message) << "\n";
    return 2;
  }
  keyward::ResilientCredential<keyward::testing::FakeTransport, FleetPolicies> api{
      transport, stored->credential, {.profile = argv[2]},
      {.refresh = {.server = argv[3], .die = argc > 4 ? argv[4] : ""}, .store = store}};
  auto response = api.send(keyward::Request{.method = "GET", .url = "https://api.fleet.test/v1"});
  if (!response) {
    std::cerr << response.error().message << "\n";
    return 1;
  }
  return response->status == 200 ? 0 : 1;
}
