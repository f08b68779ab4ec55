// Results that can view the credential, which with_current() and with_chosen() must refuse at
// compile time (detail/may_view.hpp). tests/CMakeLists.txt compiles this file once per
// KEYWARD_CASE and expects each build to fail with the refusal's message; the case `copy`
// must compile, which shows the harness itself can pass.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/pool.hpp"
#include "keyward/resilient_credential.hpp"

namespace {

using Api = keyward::ResilientCredential<keyward::TransportArchetype>;
using Pool = keyward::CredentialPool<keyward::TransportArchetype>;
using Current = keyward::CurrentCredential;

struct Lent {  // an aggregate of the application's own that holds a view
  int uses = 0;
  std::string_view token;
};

}  // namespace

// Never called: only compiled.
auto read(const Api& api, Pool& pool) {
  static_cast<void>(pool);
#if KEYWARD_CASE == 1  // the finding: a string_view from Secret::reveal() that dangles
  return api.with_current([](const Current& c) { return c.credential.token.reveal(); });
#elif KEYWARD_CASE == 2
  return api.with_current([](const Current& c) { return std::span{c.token}; });
#elif KEYWARD_CASE == 3
  return api.with_current([](const Current& c) { return c.token.data(); });
#elif KEYWARD_CASE == 4
  return api.with_current(
      [](const Current& c) -> const keyward::Credential& { return c.credential; });
#elif KEYWARD_CASE == 5
  return api.with_current([](const Current& c) { return std::pair{1, c.token}; });
#elif KEYWARD_CASE == 6
  return api.with_current([](const Current& c) { return std::optional{c.token}; });
#elif KEYWARD_CASE == 7
  return api.with_current([](const Current& c) { return Lent{1, c.token}; });
#elif KEYWARD_CASE == 8
  return pool.with_chosen({}, [](std::string_view, const Current& c) { return c.token; });
#else  // copy: compiles
  return api.with_current([](const Current& c) { return std::string{c.token}; });
#endif
}
