// detail::may_view (detail/may_view.hpp): the results with_current() and with_chosen() refuse at
// compile time because they can view the credential past the call, and the copies they accept.
// tests/compile_fail/ shows the refusal through with_current() itself.

#include "keyward/detail/may_view.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "keyward/credential.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/result.hpp"
#include "keyward/status.hpp"
#include "support/fake_transport.hpp"

namespace keyward::detail {
namespace {

struct Copied {  // an aggregate of copies
  std::string token;
  int uses = 0;
  std::optional<std::string> note;
};
struct Viewing {  // an aggregate whose second member views
  int uses = 0;
  std::string_view token;
};
struct Pointing {
  std::string name;
  const char* token = nullptr;
};
struct Spanning {
  std::span<const char> token;
};
struct ViewingLater {  // the viewing member far down the list
  int a, b, c, d, e, f, g, h, i;
  std::optional<std::string_view> token;
};
class Handle {  // constructors of its own: taken at its word (the documented limit)
 public:
  explicit Handle(std::string_view v) : v_(v) {}

 private:
  std::string_view v_;
};

// Views: references, pointers, views, and what holds them.
static_assert(may_view<const std::string&>);
static_assert(may_view<std::string&&>);
static_assert(may_view<const char*>);
static_assert(may_view<const Credential*>);
static_assert(may_view<int Credential::*>);
static_assert(may_view<std::string_view>);
static_assert(may_view<const std::string_view>);
static_assert(may_view<std::span<const char>>);
static_assert(may_view<std::span<const char, 4>>);
static_assert(may_view<std::reference_wrapper<const Credential>>);
static_assert(may_view<std::string::const_iterator>);
static_assert(may_view<std::pair<std::string, std::string_view>>);
static_assert(may_view<std::tuple<int, std::string, const char*>>);
static_assert(may_view<std::optional<std::string_view>>);
static_assert(may_view<std::variant<int, std::string_view>>);
static_assert(may_view<std::vector<std::string_view>>);
static_assert(may_view<std::array<std::string_view, 2>>);
static_assert(may_view<std::map<std::string, std::string_view>>);
static_assert(may_view<std::optional<std::pair<int, std::optional<std::string_view>>>>);
static_assert(may_view<std::unique_ptr<std::string_view>>);
static_assert(may_view<Result<std::string_view>>);
static_assert(may_view<std::function<std::string()>>);
static_assert(may_view<Viewing>);
static_assert(may_view<Pointing>);
static_assert(may_view<Spanning>);
static_assert(may_view<ViewingLater>);
static_assert(may_view<std::vector<Viewing>>);

// Copies: owned values, whatever wraps them.
static_assert(!may_view<void>);
static_assert(!may_view<int>);
static_assert(!may_view<bool>);
static_assert(!may_view<std::uint64_t>);
static_assert(!may_view<std::string>);
static_assert(!may_view<std::vector<std::string>>);
static_assert(!may_view<std::pair<std::string, int>>);
static_assert(!may_view<std::tuple<std::string, std::uint64_t, bool>>);
static_assert(!may_view<std::optional<std::string>>);
static_assert(!may_view<std::optional<TimePoint>>);
static_assert(!may_view<std::variant<int, std::string>>);
static_assert(!may_view<std::map<std::string, std::vector<int>>>);
static_assert(!may_view<std::unique_ptr<std::string>>);
static_assert(!may_view<std::shared_ptr<const Credential>>);
static_assert(!may_view<Result<std::string>>);
static_assert(!may_view<Result<void>>);
static_assert(!may_view<Copied>);
static_assert(!may_view<Credential>);
static_assert(!may_view<Secret>);
static_assert(!may_view<Status>);
static_assert(!may_view<CredentialState>);
static_assert(!may_view<std::chrono::seconds>);
// The limit: a class with constructors of its own is not looked into.
static_assert(!may_view<Handle>);

TEST(WithCurrentResultTest, CopiesComeOutOfTheCall) {
  using Api = ResilientCredential<testing::FakeTransport>;
  testing::FakeTransport transport;
  const Api api{transport, Credential::api_key("sk-test-key-0123456789-abcdefgh")};
  const std::string token =
      api.with_current([](const Api::Current& c) { return std::string{c.token}; });
  const auto both = api.with_current([](const Api::Current& c) {
    return std::pair<std::string, std::uint64_t>{std::string{c.credential.token.reveal()},
                                                 c.generation};
  });
  const Copied copied = api.with_current([](const Api::Current& c) {
    return Copied{.token = std::string{c.token}, .uses = 1, .note = std::nullopt};
  });
  EXPECT_EQ(token, "sk-test-key-0123456789-abcdefgh");
  EXPECT_EQ(both.first, token);
  EXPECT_EQ(both.second, 1U);
  EXPECT_EQ(copied.token, token);
}

}  // namespace
}  // namespace keyward::detail
