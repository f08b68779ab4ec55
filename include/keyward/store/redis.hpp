// store::Redis: a CredentialStore in Redis, shared by every process on every host of a fleet.
//
// Needs hiredis (Debian: libhiredis-dev; CMake target keyward::redis). The design, the keys and
// what Debian's hiredis cannot do are in docs/redis-store.md. In short:
//   - the credential is one hash with its generation; compare-and-swap is a Lua script, which
//     also publishes the new generation on the profile's channel;
//   - the refresh lease is a key holding "<fencing token> <random>" with a ttl, taken by a script
//     that hands out a fencing token that only grows, renewed by a thread of the Lease every
//     ttl/3 while the holder's token call runs, and released (compare-and-delete) when the Lease
//     is destroyed; if the holder dies, the lease expires after ttl; a renewal that fails loses
//     the lease (Lease::valid()), and the CAS and marker scripts refuse a lease that is no longer
//     the current one (docs/redis-store.md, "Fencing");
//   - a caller waiting for the lease is woken by the channel (the new generation, or the
//     release) and polls as a fallback; when another holder stored a new generation meanwhile,
//     lease() returns without the lease, and the caller adopts that credential;
//   - a cooldown window (rate limit, quota) one holder is told of is shared, so that the others
//     wait it out instead of each hitting the limit (SharesCooldowns);
//   - every key of a profile carries the hash tag `{profile}`, so a profile's keys live in one
//     Redis Cluster slot and its scripts run there.
// Each store copy shares one connection under a mutex; a lease wait and a lease renewal each use
// a connection of their own. A connection that failed is re-made by the next command.
//
// Why this header is over 300 lines: the connection, the scripts and the lease belong together.
#pragma once

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/credential.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/detail/wipe.hpp"
#include "keyward/error.hpp"
#include "keyward/result.hpp"

namespace keyward::store {

/// Where and how store::Redis connects.
struct RedisOptions {
  std::string host = "127.0.0.1";  ///< The Redis server's address.
  int port = 6379;                 ///< Its port.
  std::string password{};          ///< Sent with AUTH when not empty.
  std::string prefix = "keyward";  ///< The first part of every key.
  std::string profile{};           ///< The profile (one login); keys are tagged with it.
  std::chrono::milliseconds connect_timeout{1000};  ///< Connecting.
  std::chrono::milliseconds command_timeout{2000};  ///< Each command.
  /// How long the lease lives without a renewal: when its holder dies, others wait this long.
  /// Keep the refresh strategy's token call timeout below it.
  std::chrono::milliseconds lease_ttl{15000};
  /// A waiter re-checks this often when no notification arrives.
  std::chrono::milliseconds poll{200};
};

namespace redis_internal {

struct FreeReply {
  void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, FreeReply>;

// One connection; connects on first use and again after a failure.
class Connection {
 public:
  explicit Connection(const RedisOptions& options) : options_(options) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { close(); }

  // Runs one command; an Error for a connection failure or an error reply.
  Result<Reply> run(const std::vector<std::string_view>& args) {
    if (auto connected = connect(); !connected) return unexpected(std::move(connected).error());
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const std::string_view arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    Reply reply{static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()))};
    return checked(std::move(reply), args.front());
  }

  // Waits up to `timeout` for the next message on a subscribed connection; nothing on timeout.
  Result<std::optional<Reply>> next_message(std::chrono::milliseconds timeout) {
    redisSetTimeout(context_, timeval_of(timeout));
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK) {
      const bool timed_out = context_->err == REDIS_ERR_IO &&
                             (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT);
      auto error = failure("waiting for a notification");
      close();  // a timed-out read leaves the context unusable
      if (timed_out) return std::optional<Reply>{};
      return unexpected(std::move(error));
    }
    return std::optional<Reply>{Reply{static_cast<redisReply*>(raw)}};
  }

 private:
  Result<void> connect() {
    if (context_ != nullptr) return {};
    context_ = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                       timeval_of(options_.connect_timeout));
    if (context_ == nullptr || context_->err != 0) {
      auto error = failure("connecting");
      close();
      return unexpected(std::move(error));
    }
    redisSetTimeout(context_, timeval_of(options_.command_timeout));
    if (!options_.password.empty()) {
      if (auto auth = run({"AUTH", options_.password}); !auth) {
        close();
        return unexpected(std::move(auth).error());
      }
    }
    return {};
  }

  Result<Reply> checked(Reply reply, std::string_view command) {
    if (!reply) {
      auto error = failure(std::string{command});
      close();
      return unexpected(std::move(error));
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      // Redis error texts name commands and keys, never the values sent.
      return unexpected(
          make_error(Errc::store_unavailable, where() + " answered " + std::string{command} +
                                                  " with: " + std::string{reply->str, reply->len}));
    }
    return reply;
  }

  [[nodiscard]] Error failure(const std::string& doing) const {
    const std::string why =
        context_ == nullptr ? "cannot allocate a connection" : std::string{context_->errstr};
    return make_error(Errc::store_unavailable, where() + ": " + doing + " failed: " + why);
  }
  [[nodiscard]] std::string where() const {
    return "Redis at " + options_.host + ":" + std::to_string(options_.port);
  }
  static timeval timeval_of(std::chrono::milliseconds ms) {
    const auto count = std::max<std::int64_t>(ms.count(), 1);
    return {static_cast<time_t>(count / 1000), static_cast<suseconds_t>((count % 1000) * 1000)};
  }
  void close() noexcept {
    if (context_ != nullptr) redisFree(context_);
    context_ = nullptr;
  }

  const RedisOptions& options_;
  redisContext* context_ = nullptr;
};

// CAS: KEYS[1] the credential, KEYS[2] the lease; ARGV: expected, kind, token, refresh,
// expires_ms, channel, and the lease value ("<fence> <random>") of the writer's lease, or '' for
// a write made without one (a first store, set_credential()).
// Returns {1, new generation}, {0, current generation} when the generation moved, or
// {-1, current generation} when the writer's lease is no longer the current one (fenced).
// A write under the current lease to a credential that is not there (a Redis that lost its data)
// continues from the generation the writer knew, so generations never go back.
inline constexpr std::string_view kCompareAndSwap = R"(
local g = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
local stored = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
local fence = stored
if ARGV[7] ~= '' then
  fence = tonumber(string.match(ARGV[7], '^(%d+) '))
  if redis.call('GET', KEYS[2]) ~= ARGV[7] or fence < stored then return {-1, g} end
end
local expected = tonumber(ARGV[1])
if g ~= expected and not (g == 0 and ARGV[7] ~= '') then return {0, g} end
local n = math.max(g, expected) + 1
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'kind', ARGV[2], 'token', ARGV[3], 'generation', n, 'fence', fence)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'refresh', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'expires_ms', ARGV[5]) end
redis.call('PUBLISH', ARGV[6], 'generation ' .. n)
return {1, n})";

// The refresh marker: KEYS[1] the credential, KEYS[2] the lease; ARGV: generation, since_ms, the
// lease value or ''. Returns {1, generation} when written, {0, current generation} when the
// generation differs, {-1, current generation} when the lease is no longer the caller's.
inline constexpr std::string_view kMarkRefreshing = R"(
local g = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return {-1, g} end
if g ~= tonumber(ARGV[1]) then return {0, g} end
redis.call('HSET', KEYS[1], 'pending_since', ARGV[2])
return {1, g})";

// The record of a refused refresh token: KEYS[1] the credential; ARGV: generation, at_ms, reason.
// Written, and the refresh marker removed, only while the generation is still the one refused.
inline constexpr std::string_view kMarkRefused = R"(
local g = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
if g ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'refused_at', ARGV[2], 'refused_reason', ARGV[3])
redis.call('HDEL', KEYS[1], 'pending_since')
return 1)";

// Takes the lease with the next fencing token: KEYS[1] the lease, KEYS[2] the fence counter,
// KEYS[3] the credential; ARGV: random, ttl_ms. The token is above the counter and above the
// fence of the lease that wrote the stored credential, so it only grows while either survives.
// Returns the fencing token, or 0 when another holder has the lease.
inline constexpr std::string_view kTakeLease = R"(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = redis.call('INCR', KEYS[2])
local f = tonumber(redis.call('HGET', KEYS[3], 'fence') or '0')
if n <= f then
  n = f + 1
  redis.call('SET', KEYS[2], n)
end
redis.call('SET', KEYS[1], n .. ' ' .. ARGV[1], 'PX', ARGV[2])
return n)";

// Lease renewal and release: KEYS[1] the lease; ARGV: token, ttl_ms or the channel.
inline constexpr std::string_view kRenew = R"(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2]))";
inline constexpr std::string_view kRelease = R"(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], 'released')
return 1)";

// Shares a cooldown window, never shortening one of the same generation: KEYS[1] the window;
// ARGV: generation, reason, until_ms. The key expires when the window ends.
inline constexpr std::string_view kShareCooldown = R"(
local v = redis.call('GET', KEYS[1])
if v then
  local g, r, u = string.match(v, '^(%d+) (%S+) (%d+)$')
  if g == ARGV[1] and tonumber(u) >= tonumber(ARGV[3]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3], 'PXAT', ARGV[3])
return 1)";

}  // namespace redis_internal

/// A credential store in Redis; copies share one connection and profile.
class Redis {
  struct Shared {
    RedisOptions options;
    std::mutex mutex;  // guards connection and held
    redis_internal::Connection connection{options};
    std::string credential_key, lease_key, channel, cooldown_key, fence_key;
    // The value ("<fence> <random>") of the lease each thread holds through this handle: writes
    // a thread makes while it holds one are fenced by it. Guarded by mutex.
    std::map<std::thread::id, std::string> held;
    // This thread's lease value, or empty; called with mutex held.
    [[nodiscard]] std::string_view held_here() const {
      const auto it = held.find(std::this_thread::get_id());
      return it == held.end() ? std::string_view{} : std::string_view{it->second};
    }
    explicit Shared(RedisOptions o) : options(std::move(o)) {
      const std::string tag = options.prefix + ":{" + options.profile + "}:";
      credential_key = tag + "credential";
      lease_key = tag + "lease";
      channel = tag + "changed";
      cooldown_key = tag + "cooldown";
      fence_key = tag + "fence";
    }
  };

 public:
  /// The refresh lease with its fencing token; renewed while held, released (and waiters woken)
  /// when destroyed. While it is held, the writes of the thread that took it through this store
  /// (and its copies) are fenced by it: the compare-and-swap and the refresh marker are refused
  /// (Errc::store_unavailable) once it is no longer the current lease.
  class Lease {
   public:
    Lease() = default;
    /// True when this caller took the lease (it may have been lost since: see valid()).
    [[nodiscard]] bool held() const noexcept { return state_ != nullptr; }
    /// True while the lease is held and no renewal of it has failed. A renewal that failed
    /// (Redis unreachable, or the lease gone: a restart, a flush, an expiry) loses the lease
    /// for good: no token call is started under it, and writes under it are refused once
    /// another holder took the lease.
    [[nodiscard]] bool valid() const noexcept {
      return state_ != nullptr && !state_->lost.load(std::memory_order_acquire);
    }
    /// The fencing token: it grows with every lease taken on the login (0 when not held).
    [[nodiscard]] std::uint64_t fence() const noexcept {
      return state_ != nullptr ? state_->fence : 0;
    }

   private:
    friend class Redis;
    // The renewal thread and what it needs; stopped and the lease released on destruction.
    struct State {
      std::shared_ptr<Shared> shared;
      std::string token;      // the lease's value: "<fence> <random>"
      std::thread::id owner;  // the thread that took it, whose writes it fences
      std::uint64_t fence = 0;
      std::atomic<bool> lost{false};
      std::mutex mutex;
      std::condition_variable stop;
      bool stopping = false;
      std::thread renewer;
      ~State() {
        {
          const std::scoped_lock lock(mutex);
          stopping = true;
        }
        stop.notify_all();
        if (renewer.joinable()) renewer.join();
        const std::scoped_lock lock(shared->mutex);
        if (const auto it = shared->held.find(owner);
            it != shared->held.end() && it->second == token) {
          shared->held.erase(it);
        }
        static_cast<void>(shared->connection.run(
            {"EVAL", redis_internal::kRelease, "1", shared->lease_key, token, shared->channel}));
      }
    };
    struct Release {
      void operator()(State* state) const { delete state; }  // NOLINT: owned here alone
    };
    explicit Lease(std::unique_ptr<State, Release> state) noexcept : state_(std::move(state)) {}
    std::unique_ptr<State, Release> state_;
  };

  /// The store for `options.profile` on the Redis server `options` names. Connects on first use.
  explicit Redis(RedisOptions options) : shared_(std::make_shared<Shared>(std::move(options))) {
    if (shared_->options.profile.empty()) {
      throw std::invalid_argument("keyward: store::Redis needs a profile (RedisOptions::profile)");
    }
  }

  /// The stored credential and its generation (0 when nothing is stored).
  [[nodiscard]] Result<StoredCredential> load() const {
    std::optional<Result<redis_internal::Reply>> reply;
    {
      const std::scoped_lock lock(shared_->mutex);
      reply = shared_->connection.run({"HGETALL", shared_->credential_key});
    }
    if (!*reply) return unexpected(std::move(*reply).error());
    const redisReply& fields = ***reply;
    StoredCredential stored;
    std::string kind;
    std::string token;
    std::string refresh;
    std::optional<std::int64_t> expires;
    std::optional<std::int64_t> pending;
    std::optional<std::int64_t> refused_at;
    std::string refused_reason;
    bool malformed = false;
    const auto number = [&malformed](std::string_view text) {
      std::int64_t value = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      malformed = malformed || error != std::errc{} || end != text.data() + text.size();
      return value;
    };
    for (std::size_t i = 0; i + 1 < fields.elements; i += 2) {
      const std::string_view name{fields.element[i]->str, fields.element[i]->len};
      const std::string_view value{fields.element[i + 1]->str, fields.element[i + 1]->len};
      if (name == "kind") {
        kind = value;
      } else if (name == "token") {
        token = value;
      } else if (name == "refresh") {
        refresh = value;
      } else if (name == "expires_ms") {
        expires = number(value);
      } else if (name == "pending_since") {
        pending = number(value);
      } else if (name == "refused_at") {
        refused_at = number(value);
      } else if (name == "refused_reason") {
        refused_reason = value;
      } else if (name == "generation") {
        stored.generation = static_cast<std::uint64_t>(number(value));
      }
    }
    wipe_reply(***reply);
    if (malformed) {
      detail::wipe(token);
      detail::wipe(refresh);
      return unexpected(make_error(Errc::store_unavailable,
                                   shared_->credential_key + " in Redis has a field that is not a "
                                                             "number (docs/redis-store.md)"));
    }
    if (stored.generation == 0) return stored;
    const auto at = [](std::int64_t ms) { return TimePoint{std::chrono::milliseconds{ms}}; };
    if (kind == "oauth") {
      stored.credential = Credential::oauth(std::move(token), std::move(refresh),
                                            expires ? std::optional{at(*expires)} : std::nullopt);
    } else if (kind == "token") {
      stored.credential = Credential::bearer(std::move(token),
                                             expires ? std::optional{at(*expires)} : std::nullopt);
    } else {
      stored.credential = Credential::api_key(std::move(token));
    }
    if (pending) stored.refresh_pending = at(*pending);
    if (refused_at) stored.refresh_refused = RefreshRefusal{at(*refused_at), refused_reason};
    return stored;
  }

  /// Records that the token endpoint refused the refresh token of `generation`, and removes its
  /// refresh marker, so that no holder presents that token again; the next write of a credential
  /// removes the record. Errc::store_conflict when the credential changed meanwhile.
  [[nodiscard]] Result<void> mark_refused(std::uint64_t generation, const RefreshRefusal& refusal) {
    const std::string at = std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(refusal.at.time_since_epoch())
            .count());
    const std::scoped_lock lock(shared_->mutex);
    auto reply =
        shared_->connection.run({"EVAL", redis_internal::kMarkRefused, "1", shared_->credential_key,
                                 std::to_string(generation), at, refusal.reason});
    if (!reply) return unexpected(std::move(reply).error());
    if ((*reply)->integer == 0) {
      return unexpected(make_error(Errc::store_conflict, "the credential changed meanwhile"));
    }
    return {};
  }

  /// Writes `next` if the stored generation is still `expected` (one Lua script), and publishes
  /// the new generation to the waiters of every host. While the calling thread holds a Lease of
  /// this store, the write is fenced: refused with Errc::store_unavailable when that lease is no
  /// longer the current one (it expired, or Redis lost it, and another holder may have taken it),
  /// and accepted under it when Redis lost the credential (then the generation continues from
  /// `expected`).
  [[nodiscard]] Result<std::uint64_t> compare_and_swap(std::uint64_t expected,
                                                       const Credential& next) {
    const std::string expected_text = std::to_string(expected);
    const std::string expires =
        next.expires_at ? std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             next.expires_at->time_since_epoch())
                                             .count())
                        : std::string{};
    const std::string_view kind = next.kind == CredentialKind::oauth          ? "oauth"
                                  : next.kind == CredentialKind::bearer_token ? "token"
                                                                              : "api_key";
    std::optional<Result<redis_internal::Reply>> reply;
    {
      const std::scoped_lock lock(shared_->mutex);
      reply = shared_->connection.run({"EVAL", redis_internal::kCompareAndSwap, "2",
                                       shared_->credential_key, shared_->lease_key, expected_text,
                                       kind, next.token.reveal(), next.refresh_token.reveal(),
                                       expires, shared_->channel, shared_->held_here()});
    }
    if (!*reply) return unexpected(std::move(*reply).error());
    const redisReply& result = ***reply;
    if (result.type != REDIS_REPLY_ARRAY || result.elements != 2) {
      return unexpected(make_error(Errc::store_unavailable, "unexpected reply to the CAS script"));
    }
    const auto generation = static_cast<std::uint64_t>(result.element[1]->integer);
    if (result.element[0]->integer < 0) {
      return unexpected(
          lease_lost("nothing was written (generation " + std::to_string(generation) + ")"));
    }
    if (result.element[0]->integer == 0) {
      return unexpected(make_error(
          Errc::store_conflict,
          "profile " + shared_->options.profile + " in Redis changed meanwhile (generation " +
              std::to_string(generation) + ", expected " + expected_text + ")"));
    }
    return generation;
  }

  /// Takes the refresh lease, waiting up to `wait`; returns without it as soon as another holder
  /// stored a new generation (the caller then adopts it) or when the wait runs out.
  [[nodiscard]] Result<Lease> lease(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    auto start = load();
    if (!start) return unexpected(std::move(start).error());
    const std::uint64_t seen = start->generation;
    std::string token = random_token();
    std::optional<redis_internal::Connection> subscriber;
    for (;;) {
      std::optional<Result<redis_internal::Reply>> taken;
      {
        const std::scoped_lock lock(shared_->mutex);
        taken = shared_->connection.run(
            {"EVAL", redis_internal::kTakeLease, "3", shared_->lease_key, shared_->fence_key,
             shared_->credential_key, token, std::to_string(shared_->options.lease_ttl.count())});
      }
      if (!*taken) return unexpected(std::move(*taken).error());
      if ((**taken)->type != REDIS_REPLY_INTEGER) {
        return unexpected(
            make_error(Errc::store_unavailable, "unexpected reply to the lease script"));
      }
      if (const auto fence = (**taken)->integer; fence > 0) {
        return hold(static_cast<std::uint64_t>(fence), token);
      }
      if (!subscriber) {  // subscribe, then look again: a publish in between is not missed
        subscriber.emplace(shared_->options);
        auto subscribed = subscriber->run({"SUBSCRIBE", shared_->channel});
        if (!subscribed) subscriber.reset();  // polling still works
        continue;
      }
      auto now_stored = load();
      if (!now_stored) return unexpected(std::move(now_stored).error());
      if (now_stored->generation != seen) return Lease{};
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return Lease{};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      const auto pause = std::min(left, shared_->options.poll);
      auto message = subscriber->next_message(pause);
      if (!message || !*message) {
        subscriber.reset();  // re-subscribe on the next round
        if (!message) std::this_thread::sleep_for(pause);
      }
    }
  }

  /// Writes the refresh marker for `generation` before a token call; the next write removes it.
  /// Refused, so that no token call is made, when this store's Lease is no longer the current
  /// one (Errc::store_unavailable), and when Redis holds no credential while `generation` says one
  /// was stored (it lost its data) and restarted less than a lease ttl ago: a token call begun
  /// under a lease Redis forgot may still be running then (docs/redis-store.md, "Fencing").
  /// Errc::store_conflict when it holds another generation: the caller re-reads it first.
  [[nodiscard]] Result<void> mark_refreshing(std::uint64_t generation, TimePoint now) {
    const std::string since = std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
    std::optional<Result<redis_internal::Reply>> reply;
    {
      const std::scoped_lock lock(shared_->mutex);
      reply = shared_->connection.run({"EVAL", redis_internal::kMarkRefreshing, "2",
                                       shared_->credential_key, shared_->lease_key,
                                       std::to_string(generation), since, shared_->held_here()});
    }
    if (!*reply) return unexpected(std::move(*reply).error());
    const redisReply& result = ***reply;
    if (result.type != REDIS_REPLY_ARRAY || result.elements != 2) {
      return unexpected(
          make_error(Errc::store_unavailable, "unexpected reply to the refresh marker script"));
    }
    if (result.element[0]->integer < 0) {
      return unexpected(lease_lost("no token call was made; the next request retries"));
    }
    if (result.element[0]->integer == 0 && result.element[1]->integer != 0) {
      return unexpected(
          make_error(Errc::store_conflict, "the credential of profile " + shared_->options.profile +
                                               " in Redis changed since it was read (generation " +
                                               std::to_string(result.element[1]->integer) +
                                               ", not " + std::to_string(generation) + ")"));
    }
    if (result.element[0]->integer == 0 && generation != 0) {
      auto up = uptime();
      if (!up) return unexpected(std::move(up).error());
      if (*up < shared_->options.lease_ttl) {
        return unexpected(make_error(
            Errc::refresh_failed,
            "Redis holds no credential for profile " + shared_->options.profile + " (generation " +
                std::to_string(generation) + " was stored: it lost its data) and restarted " +
                std::to_string(up->count() / 1000) +
                " s ago; no token call is made until a lease ttl has passed since, so that "
                "one begun before the restart is not repeated; the next request retries"));
      }
    }
    return {};
  }

  /// Shares a cooldown window with every holder of this login; a window of the same generation
  /// that ends later is kept.
  [[nodiscard]] Result<void> share_cooldown(const SharedCooldown& window) {
    const auto until =
        std::chrono::duration_cast<std::chrono::milliseconds>(window.until.time_since_epoch())
            .count();
    const std::scoped_lock lock(shared_->mutex);
    auto reply = shared_->connection.run({"EVAL", redis_internal::kShareCooldown, "1",
                                          shared_->cooldown_key, std::to_string(window.generation),
                                          to_string(window.reason), std::to_string(until)});
    if (!reply) return unexpected(std::move(reply).error());
    return {};
  }

  /// The cooldown window another holder shared, if one is running.
  [[nodiscard]] Result<std::optional<SharedCooldown>> shared_cooldown() const {
    std::optional<Result<redis_internal::Reply>> reply;
    {
      const std::scoped_lock lock(shared_->mutex);
      reply = shared_->connection.run({"GET", shared_->cooldown_key});
    }
    if (!*reply) return unexpected(std::move(*reply).error());
    const redisReply& value = ***reply;
    if (value.type != REDIS_REPLY_STRING) return std::optional<SharedCooldown>{};
    // "<generation> <reason> <until_ms>", as kShareCooldown writes it.
    std::istringstream in{std::string{value.str, value.len}};
    std::uint64_t generation = 0;
    std::string reason;
    std::int64_t until = 0;
    if (!(in >> generation >> reason >> until)) return std::optional<SharedCooldown>{};
    SharedCooldown window{generation, VerdictKind::rate_limited,
                          TimePoint{std::chrono::milliseconds{until}}};
    if (reason == to_string(VerdictKind::quota_exhausted)) {
      window.reason = VerdictKind::quota_exhausted;
    }
    return std::optional<SharedCooldown>{window};
  }

  /// True: the credential lives in Redis, beyond this process (how durably depends on the
  /// server's persistence settings).
  [[nodiscard]] bool durable() const noexcept { return true; }

  /// The key of the stored credential, e.g. "keyward:{anthropic:work}:credential".
  [[nodiscard]] const std::string& key() const noexcept { return shared_->credential_key; }

 private:
  Lease hold(std::uint64_t fence, const std::string& random) {
    std::unique_ptr<Lease::State, Lease::Release> state{new Lease::State{}};
    state->shared = shared_;
    state->fence = fence;
    state->token = std::to_string(fence) + " " + random;
    {
      const std::scoped_lock lock(shared_->mutex);
      state->owner = std::this_thread::get_id();
      shared_->held[state->owner] = state->token;
    }
    Lease::State* s = state.get();
    s->renewer = std::thread([s] {
      redis_internal::Connection connection{s->shared->options};
      const auto ttl = s->shared->options.lease_ttl;
      std::unique_lock lock(s->mutex);
      while (!s->stop.wait_for(lock, ttl / 3, [s] { return s->stopping; })) {
        auto renewed = connection.run({"EVAL", redis_internal::kRenew, "1", s->shared->lease_key,
                                       s->token, std::to_string(ttl.count())});
        // Any failure loses the lease: an unreachable Redis may have restarted without it.
        if (!renewed || (*renewed)->type != REDIS_REPLY_INTEGER || (*renewed)->integer != 1) {
          s->lost.store(true, std::memory_order_release);
        }
        if (renewed && (*renewed)->type == REDIS_REPLY_INTEGER && (*renewed)->integer == 0) {
          return;  // another holder's now, or gone: nothing left to renew
        }
      }
    });
    return Lease{std::move(state)};
  }

  // A write or marker refused because the lease is no longer this store's (the scripts' -1).
  [[nodiscard]] Error lease_lost(const std::string& what) const {
    return make_error(Errc::store_unavailable, "the refresh lease of profile " +
                                                   shared_->options.profile +
                                                   " in Redis was lost (a renewal failed, or Redis "
                                                   "restarted or expired it) and may be another "
                                                   "holder's now: " +
                                                   what);
  }

  // How long the server has been running (INFO server's uptime_in_seconds).
  [[nodiscard]] Result<std::chrono::milliseconds> uptime() const {
    std::optional<Result<redis_internal::Reply>> reply;
    {
      const std::scoped_lock lock(shared_->mutex);
      reply = shared_->connection.run({"INFO", "server"});
    }
    if (!*reply) return unexpected(std::move(*reply).error());
    const std::string_view info{(**reply)->str, (**reply)->len};
    constexpr std::string_view field = "uptime_in_seconds:";
    const auto at = info.find(field);
    std::int64_t seconds = 0;
    if (at == std::string_view::npos ||
        std::from_chars(info.data() + at + field.size(), info.data() + info.size(), seconds).ec !=
            std::errc{}) {
      return unexpected(make_error(Errc::store_unavailable, "INFO server has no uptime"));
    }
    return std::chrono::milliseconds{seconds * 1000};
  }

  static std::string random_token() {
    std::random_device random;
    std::string token;
    for (int i = 0; i < 4; ++i) token += std::to_string(random());
    return token;
  }

  static void wipe_reply(redisReply& reply) noexcept {
    if (reply.str != nullptr) {
      volatile char* p = reply.str;
      for (std::size_t i = 0; i < reply.len; ++i) p[i] = 0;
    }
    for (std::size_t i = 0; i < reply.elements; ++i) wipe_reply(*reply.element[i]);
  }

  std::shared_ptr<Shared> shared_;
};

static_assert(CredentialStore<Redis>);
static_assert(MarksRefreshes<Redis>);
static_assert(SharesCooldowns<Redis>);

}  // namespace keyward::store
