// docs/guides/store.md: a CredentialStore of one's own, and two holders sharing one login.
//
// TableStore keeps logins in a table (a map here; a database table, a Redis hash or a file with
// a lock beside it in production), each with a generation and a refresh lease. Two
// ResilientCredentials that share one OAuth login share its row: when one refreshes, the other
// adopts the new credential from the store instead of presenting the spent refresh token.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/keyward.hpp"

// The shared storage: one row per login.
struct LoginTable {
  struct Row {
    keyward::StoredCredential stored;  // generation 0: nothing stored yet
    bool leased = false;
  };
  std::mutex mutex;
  std::condition_variable released;
  std::map<std::string, Row, std::less<>> rows;
};

// A handle on one row; copies share it.
class TableStore {
 public:
  // The refresh lease on the row; released when destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease(Lease&& other) noexcept : table_(std::move(other.table_)), key_(std::move(other.key_)) {}
    Lease& operator=(Lease&& other) noexcept {
      if (this != &other) {
        release();
        table_ = std::move(other.table_);
        key_ = std::move(other.key_);
      }
      return *this;
    }
    ~Lease() { release(); }
    [[nodiscard]] bool held() const noexcept { return table_ != nullptr; }

   private:
    friend class TableStore;
    Lease(std::shared_ptr<LoginTable> table, std::string key)
        : table_(std::move(table)), key_(std::move(key)) {}
    void release() noexcept {
      if (!table_) return;
      {
        const std::scoped_lock lock(table_->mutex);
        const auto row = table_->rows.find(key_);
        if (row != table_->rows.end()) row->second.leased = false;
      }
      table_->released.notify_all();
      table_.reset();
    }
    std::shared_ptr<LoginTable> table_;
    std::string key_;
  };

  // The row `key` of `table`.
  TableStore(std::shared_ptr<LoginTable> table, std::string key)
      : table_(std::move(table)), key_(std::move(key)) {}
  // A table of its own (Components default-constructs a store it is not given).
  TableStore() : TableStore(std::make_shared<LoginTable>(), "default") {}

  // The stored credential and its generation; generation 0 when nothing is stored yet.
  [[nodiscard]] keyward::Result<keyward::StoredCredential> load() const {
    const std::scoped_lock lock(table_->mutex);
    const auto row = table_->rows.find(key_);
    if (row == table_->rows.end()) return keyward::StoredCredential{};
    return row->second.stored;
  }

  // Writes `next` only if the stored generation is still `expected`; returns the new generation.
  [[nodiscard]] keyward::Result<std::uint64_t> compare_and_swap(std::uint64_t expected,
                                                                const keyward::Credential& next) {
    const std::scoped_lock lock(table_->mutex);
    keyward::StoredCredential& stored = table_->rows[key_].stored;
    if (stored.generation != expected) {
      return keyward::unexpected(keyward::make_error(
          keyward::Errc::store_conflict, "login '" + key_ + "' changed since it was read"));
    }
    stored.credential = next;
    return ++stored.generation;
  }

  // Takes the refresh lease, waiting up to `wait` for another holder; a Lease that is not held
  // when the wait ran out (keyward then re-reads the store, and adopts what the holder wrote).
  [[nodiscard]] keyward::Result<Lease> lease(std::chrono::milliseconds wait) {
    std::unique_lock lock(table_->mutex);
    LoginTable::Row& row = table_->rows[key_];
    if (!table_->released.wait_for(lock, wait, [&row] { return !row.leased; })) return Lease{};
    row.leased = true;
    return Lease{table_, key_};
  }

  // Whether a write outlives the process: this table lives in memory, so no, and status() will
  // say that a rotated refresh token is held only in memory. A database or a file store says yes.
  [[nodiscard]] bool durable() const noexcept { return false; }

 private:
  std::shared_ptr<LoginTable> table_;
  std::string key_;
};

static_assert(keyward::CredentialStore<TableStore>);

// An OAuth provider in this process whose refresh tokens work once (rotation).
class OAuthProvider {
 public:
  static constexpr std::string_view kTokenUrl = "https://auth.example.com/oauth/token";

  std::pair<std::string, std::string> login() {
    const std::scoped_lock lock(mutex_);
    return issue();
  }
  void expire_access_tokens() {
    const std::scoped_lock lock(mutex_);
    access_tokens_.clear();
  }
  [[nodiscard]] int redemptions() const {
    const std::scoped_lock lock(mutex_);
    return redemptions_;
  }
  [[nodiscard]] int refused() const {
    const std::scoped_lock lock(mutex_);
    return refused_;
  }

  keyward::Response handle(const keyward::Request& request) {
    const std::scoped_lock lock(mutex_);
    if (request.url == kTokenUrl) {
      if (request.body.find("refresh_token=" + refresh_token_) == std::string::npos) {
        ++refused_;
        return {.status = 400, .headers = {}, .body = R"({"error":"invalid_grant"})"};
      }
      ++redemptions_;
      const auto [access, refresh] = issue();
      return {.status = 200,
              .headers = {},
              .body = R"({"access_token":")" + access + R"(","refresh_token":")" + refresh +
                      R"(","expires_in":3600})"};
    }
    const auto authorization = request.headers.get("authorization").value_or("");
    if (authorization.starts_with("Bearer ") &&
        access_tokens_.contains(std::string{authorization.substr(7)})) {
      return {.status = 200, .headers = {}, .body = R"({"user":"ada"})"};
    }
    return {.status = 401, .headers = {}, .body = {}};
  }

 private:
  std::pair<std::string, std::string> issue() {
    const std::string n = std::to_string(1000 + ++serial_);  // tokens of one length
    std::string access = "example-access-token-" + n;
    refresh_token_ = "example-refresh-token-" + n;
    access_tokens_.insert(access);
    return {access, refresh_token_};
  }

  mutable std::mutex mutex_;
  std::set<std::string, std::less<>> access_tokens_;
  std::string refresh_token_;
  int serial_ = 0;
  int redemptions_ = 0;
  int refused_ = 0;
};

struct ProviderTransport {
  OAuthProvider* provider = nullptr;
  keyward::TransportResult send(const keyward::Request& request) const {
    return provider->handle(request);
  }
};

struct SharedLoginPolicies : keyward::DefaultPolicies {
  using Refresh = keyward::refresh::OAuth2RefreshToken;
  using Store = TableStore;
};

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

}  // namespace

int run() {
  using namespace std::chrono_literals;
  const auto table = std::make_shared<LoginTable>();

  // The contract, called directly.
  TableStore scratch{table, "scratch"};
  expect(scratch.load()->generation == 0, "load(): generation 0 before the first write");
  const auto first =
      scratch.compare_and_swap(0, keyward::Credential::api_key("first-key-0123456789"));
  expect(first && *first == 1, "compare_and_swap(0, ...): written, generation 1");
  const auto stale =
      scratch.compare_and_swap(0, keyward::Credential::api_key("other-key-0123456789"));
  expect(!stale && stale.error().code == keyward::Errc::store_conflict,
         "compare_and_swap(0, ...) again: Errc::store_conflict, nothing written");
  {
    auto held = scratch.lease(0ms);
    auto second = TableStore{table, "scratch"}.lease(0ms);
    expect(held && held->held() && second && !second->held(),
           "lease(): one holder at a time; the other's wait runs out");
  }
  expect(scratch.lease(0ms)->held(), "the lease is released with its Lease");

  // Two holders of one login, each with its own ResilientCredential, sharing the row "ada".
  OAuthProvider provider;
  const auto [access, refresh_token] = provider.login();
  const auto login =
      keyward::Credential::oauth(access, refresh_token, std::chrono::system_clock::now() + 1h);
  keyward::refresh::OAuth2Options oauth;
  oauth.token_url = OAuthProvider::kTokenUrl;
  oauth.client_id = "example-cli";  // a public client: no secret
  const keyward::refresh::OAuth2RefreshToken refresh{std::move(oauth)};
  const TableStore ada{table, "ada"};
  keyward::ResilientCredential<ProviderTransport, SharedLoginPolicies> worker1{
      ProviderTransport{&provider},
      login,
      {.profile = "worker-1"},
      {.refresh = refresh, .store = ada}};
  keyward::ResilientCredential<ProviderTransport, SharedLoginPolicies> worker2{
      ProviderTransport{&provider},
      login,
      {.profile = "worker-2"},
      {.refresh = refresh, .store = ada}};
  const keyward::Request me{.method = "GET", .url = "https://api.example.com/v1/me"};

  provider.expire_access_tokens();
  auto one = worker1.send(me);
  expect(one && one->status == 200 && provider.redemptions() == 1,
         "worker-1: 401, refreshed (one redemption), replayed");
  auto two = worker2.send(me);
  expect(two && two->status == 200 && provider.redemptions() == 1 && provider.refused() == 0,
         "worker-2: 401, adopted worker-1's credential from the store; no second redemption");
  expect(ada.load()->generation == 2, "the row holds generation 2");
  expect(worker1.status().rotation_unpersisted,
         "status(): the rotated refresh token is held only in memory (durable() is false)");
  return failures == 0 ? 0 : 1;
}

int main() {
  try {
    return run();
  } catch (const std::exception& error) {  // e.g. an unusable credential given to a constructor
    std::fprintf(stderr, "error: %s\n", error.what());
  }
  return 1;
}
