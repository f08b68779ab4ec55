// store::OpenClaw: a CredentialStore over the SQLite store of OpenClaw (the seed system), so that
// keyward and OpenClaw can share one login (docs/openclaw.md).
//
//   - The database is chosen by the path given: `<stateDir>/state/openclaw.sqlite` holds the
//     shared store (table config_machine_state, key `authProfiles.store`), an agent's
//     `openclaw-agent.sqlite` its own (table auth_profile_store, key `primary`). Both hold
//     `{"version": 1, "profiles": {"<id>": {...}}}`; any other version is refused, never written.
//   - Every write is one BEGIN IMMEDIATE transaction (busy_timeout 5000 ms, WAL, as OpenClaw
//     opens them) that re-reads the profile and compares before writing, so a refresh token
//     OpenClaw rotated meanwhile is never overwritten (Errc::store_conflict). Only the members
//     that carry the credential (`access`, `refresh`, `expires`, `key`, `token`) change; every
//     other member and every other profile is kept as it was, byte for byte.
//   - keyward's generation lives in a table of its own, keyward_generation, never in OpenClaw's
//     rows: a profile OpenClaw changed since keyward last looked counts as a new generation.
//   - Refresh follows OpenClaw's protocol: its per-profile lock file
//     (detail/openclaw_lock.hpp) is the lease; under it the tokens are replaced by OpenClaw's
//     fence (`openclaw-oauth-refresh-fence:v1:…`, `expires: 1`) before the token call and the
//     lock released; the result is written under the lock again only while that fence is still
//     there. A fence another process wrote is never sent as a token and never refreshed over:
//     keyward waits for it (up to OpenClaw's 120 s), and a failed fence (`…:failed:…`) is
//     Errc::needs_reauth.
//   - Cooldown windows are shared both ways in OpenClaw's runtime state (`usageStats.<profile>`
//     of `authProfiles.state`, or an agent's auth_profile_state), in OpenClaw's members and
//     reasons (detail/openclaw_usage.hpp; docs/openclaw.md, "Shared cooldowns").
//
// Linux only. Needs SQLite (CMake target keyward::openclaw). Why this header is over 300 lines:
// it is one format, read and written, with its protocol; splitting it would scatter the format.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "keyward/credential.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/openclaw_lock.hpp"
#include "keyward/detail/openclaw_usage.hpp"
#include "keyward/detail/sha256.hpp"
#include "keyward/detail/sqlite.hpp"
#include "keyward/detail/wipe.hpp"
#include "keyward/error.hpp"
#include "keyward/result.hpp"

namespace keyward::store {

/// How store::OpenClaw opens OpenClaw's database.
struct OpenClawOptions {
  /// OpenClaw's state directory, where its refresh locks are (`<stateDir>/locks/oauth-refresh`).
  /// Empty: derived from the database path (`<stateDir>/state/openclaw.sqlite`, or
  /// `<stateDir>/agents/<id>/agent/openclaw-agent.sqlite`).
  std::string state_dir{};
  /// SQLite's busy timeout: how long a read or a write waits for another writer (OpenClaw's own).
  std::chrono::milliseconds busy_timeout{5000};
  /// How long a write waits for OpenClaw's refresh lock on the profile.
  std::chrono::milliseconds lock_wait{std::chrono::seconds{10}};
  /// How long a read waits for another process's refresh fence to settle (OpenClaw's bound).
  std::chrono::milliseconds fence_wait{std::chrono::seconds{120}};
};

/// A credential store over one profile of OpenClaw's SQLite credentials; copies share it.
class OpenClaw {
 public:
  /// How to open the database.
  using Options = OpenClawOptions;

  /// The refresh lease: OpenClaw's refresh lock on the profile, held until the fence is written
  /// (the token call runs without it, as OpenClaw's does) or the lease is destroyed.
  class Lease {
   public:
    Lease() = default;
    /// True when this caller took the lease.
    [[nodiscard]] bool held() const noexcept { return lock_ != nullptr; }

   private:
    friend class OpenClaw;
    explicit Lease(std::shared_ptr<detail::openclaw::RefreshLock> lock) noexcept
        : lock_(std::move(lock)) {}
    std::shared_ptr<detail::openclaw::RefreshLock> lock_;
  };

  /// The store for profile `profile` of the OpenClaw database at `database`
  /// (`.../state/openclaw.sqlite` or `.../openclaw-agent.sqlite`), which must exist. Any other
  /// file name makes every call fail with an Error that says which names are accepted.
  OpenClaw(std::string database, std::string profile, Options options = {})
      : place_(
            std::make_shared<Place>(std::move(database), std::move(profile), std::move(options))) {}

  /// The profile's credential and its generation (0 when the profile does not exist). Waits for
  /// a refresh fence another process wrote (up to OpenClawOptions::fence_wait); a failed
  /// refresh's fence is Errc::needs_reauth. An Error names the database, never a secret.
  [[nodiscard]] Result<StoredCredential> load() const {
    const auto deadline = std::chrono::steady_clock::now() + place_->options.fence_wait;
    for (;;) {
      auto db = open();
      if (!db) return unexpected(std::move(db).error());
      auto snap = read(*db, true);
      if (!snap) return unexpected(std::move(snap).error());
      if (snap->state == State::missing) return StoredCredential{};
      if (snap->state == State::failed_fence) return unexpected(failed_fence(*snap));
      if (snap->state == State::foreign_fence) {
        if (auto waited = pause_for_fence(*snap, deadline); !waited) {
          return unexpected(std::move(waited).error());
        }
        continue;
      }
      StoredCredential stored;
      stored.generation = snap->generation;
      if (snap->state == State::own_fence) {
        const std::scoped_lock lock(place_->mutex);
        stored.credential = place_->claim->credential;
        return stored;
      }
      auto credential = credential_of(*snap);
      if (!credential) return unexpected(std::move(credential).error());
      stored.credential = std::move(*credential);
      return stored;
    }
  }

  /// Writes `next` if the profile's generation is still `expected`: one transaction, under
  /// OpenClaw's refresh lock for an OAuth profile. Errc::store_conflict when the profile changed
  /// (or another process's fence is there); Errc::persist_failed when the profile does not
  /// exist or has another type (keyward changes a profile's credential, never its shape).
  [[nodiscard]] Result<std::uint64_t> compare_and_swap(std::uint64_t expected,
                                                       const Credential& next) {
    auto begun = begin_write(true);
    if (!begun) return unexpected(std::move(begun).error());
    Write& w = **begun;
    const Snapshot& snap = w.snap;
    if (snap.state == State::missing) return unexpected(no_profile());
    if (snap.state == State::foreign_fence) {
      return unexpected(make_error(Errc::store_conflict, where() + " is being refreshed by "
                                                                   "another process (its fence "
                                                                   "is in place); nothing was "
                                                                   "written"));
    }
    if (snap.generation != expected) return unexpected(changed(snap.generation, expected));
    const std::string_view type = snap.record()->string_or("type");
    if (type != type_name(next.kind)) {
      return unexpected(make_error(
          Errc::persist_failed, where() + " is of type \"" + std::string{type} +
                                    "\" and the credential to write is of type \"" +
                                    std::string{type_name(next.kind)} +
                                    "\": keyward changes a profile's credential, never its type; "
                                    "nothing was written"));
    }
    std::string base;
    const detail::WipeOnExit wipe_base{base};
    if (snap.state == State::own_fence) {
      const std::scoped_lock guard(place_->mutex);
      base = place_->claim->original;
    } else {
      base = std::string{snap.record()->source(snap.text)};
    }
    auto base_value = detail::json::parse(base, {.max_depth = 64});
    if (!base_value || !base_value->is_object()) return unexpected(malformed("the profile"));
    std::vector<Member> members;
    std::vector<std::string_view> drop;
    members_of(next, members, drop);
    const bool new_access = snap.record()->string_or("access") != next.token.reveal();
    if (next.kind == CredentialKind::oauth && new_access) drop.emplace_back("idToken");
    std::string record = rewrite(base, *base_value, members, drop);
    const detail::WipeOnExit wipe_record{record};
    base_value->wipe();
    auto written = write(w.db, snap, record, expected + 1, {});
    if (!written) return unexpected(std::move(written).error());
    if (auto done = w.txn->commit(); !done) return unexpected(std::move(done).error());
    forget_claim();
    return expected + 1;
  }

  /// Takes OpenClaw's refresh lock on the profile, waiting up to `wait` for its holder (first
  /// for a refresh fence another process wrote to settle). Not held when the wait ran out.
  [[nodiscard]] Result<Lease> lease(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      auto db = open();
      if (!db) return unexpected(std::move(db).error());
      auto snap = read(*db, true);
      if (!snap) return unexpected(std::move(snap).error());
      if (snap->state == State::missing) return unexpected(no_profile());
      if (snap->state == State::foreign_fence) {
        if (std::chrono::steady_clock::now() >= deadline) return Lease{};
        if (auto waited = pause_for_fence(*snap, deadline); !waited) return Lease{};
        continue;
      }
      const std::string provider{snap->record()->string_or("provider")};
      auto path = lock_path(provider);
      if (!path) return unexpected(std::move(path).error());
      const auto left = std::max(std::chrono::milliseconds{0},
                                 std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now()));
      auto lock = detail::openclaw::RefreshLock::acquire(*path, left);
      if (!lock) return unexpected(std::move(lock).error());
      if (!lock->held()) return Lease{};
      auto shared = std::make_shared<detail::openclaw::RefreshLock>(std::move(*lock));
      // OpenClaw may have fenced the profile between the look and the lock: wait for it again.
      auto again = read(*db, false);
      if (!again) return unexpected(std::move(again).error());
      if (again->state == State::foreign_fence) continue;  // `shared` released here
      const std::scoped_lock guard(place_->mutex);
      place_->lease = shared;
      return Lease{std::move(shared)};
    }
  }

  /// True: the database outlives the process.
  [[nodiscard]] bool durable() const noexcept { return true; }

  /// Before a token call: replaces the profile's tokens with OpenClaw's refresh fence (if it
  /// still holds generation `generation`) and releases the lease's lock, as OpenClaw does.
  /// Errc::store_conflict when the profile changed meanwhile. Nothing is written for a profile
  /// without a refresh token.
  [[nodiscard]] Result<void> mark_refreshing(std::uint64_t generation, TimePoint /*now*/) {
    auto begun = begin_write(false);
    if (!begun) return unexpected(std::move(begun).error());
    Write& w = **begun;
    const Snapshot& snap = w.snap;
    if (snap.state == State::missing) return unexpected(no_profile());
    if (snap.state == State::failed_fence) return unexpected(failed_fence(snap));
    if (snap.generation != generation) return unexpected(changed(snap.generation, generation));
    if (snap.state == State::own_fence) {
      release_lease();
      return {};  // fenced already, by an earlier flight of this store
    }
    if (snap.state != State::plain) {
      return unexpected(make_error(Errc::store_conflict, where() + " is fenced; nothing written"));
    }
    const detail::json::Value& record = *snap.record();
    const std::string_view refresh = record.string_or("refresh");
    if (record.string_or("type") != "oauth" || refresh.empty()) return {};
    auto credential = credential_of(snap);
    if (!credential) return unexpected(std::move(credential).error());
    const std::string provider{record.string_or("provider")};
    const std::string claim = random_hex(16);
    Claim made;
    made.access =
        fence_text(claim, "access", digest(provider, "access", record.string_or("access")));
    made.refresh = fence_text(claim, "refresh", digest(provider, "refresh", refresh));
    made.original = std::string{record.source(snap.text)};
    made.credential = std::move(*credential);
    made.generation = generation;
    std::string fenced = rewrite(
        snap.text, record,
        {{"access", quoted(made.access)}, {"refresh", quoted(made.refresh)}, {"expires", "1"}},
        {"access", "refresh", "expires", "idToken", "oauthRef", "copyToAgents"}, true);
    auto written = write(w.db, snap, fenced, generation, {});
    detail::wipe(fenced);
    if (!written) return unexpected(std::move(written).error());
    if (auto done = w.txn->commit(); !done) return unexpected(std::move(done).error());
    {
      const std::scoped_lock guard(place_->mutex);
      place_->claim = std::move(made);
    }
    release_lease();
    return {};
  }

  /// After the token endpoint refused the refresh token of `generation`: turns this store's
  /// fence into OpenClaw's failed fence (`…:failed:…`), so that no holder presents the token
  /// again, and keeps the reason for keyward's readers. Errc::store_conflict when the profile
  /// changed meanwhile.
  [[nodiscard]] Result<void> mark_refused(std::uint64_t generation, const RefreshRefusal& refusal) {
    auto begun = begin_write(true);
    if (!begun) return unexpected(std::move(begun).error());
    Write& w = **begun;
    const Snapshot& snap = w.snap;
    if (snap.state != State::own_fence || snap.generation != generation) {
      return unexpected(make_error(Errc::store_conflict, where() + " changed meanwhile"));
    }
    const detail::json::Value& record = *snap.record();
    const auto failed = [](std::string_view fence) {
      std::string out{fence};
      const auto kind = out.rfind(':', out.rfind(':') - 1);  // before "access:" / "refresh:"
      out.insert(kind + 1, "failed:");
      return out;
    };
    std::string text = rewrite(snap.text, record,
                               {{"access", quoted(failed(record.string_or("access")))},
                                {"refresh", quoted(failed(record.string_or("refresh")))}},
                               {"access", "refresh"});
    auto written = write(w.db, snap, text, generation, refusal.reason);
    if (!written) return unexpected(std::move(written).error());
    if (auto done = w.txn->commit(); !done) return unexpected(std::move(done).error());
    forget_claim();
    return {};
  }

  /// Shares a cooldown window with every holder of the profile, keyward's or OpenClaw's: written
  /// into OpenClaw's runtime state (`authProfiles.state` beside the shared store, an agent's
  /// auth_profile_state row) as `usageStats.<profile>` in OpenClaw's members: a rate limit as
  /// `cooldownUntil` with `cooldownReason` "rate_limit", a quota as `disabledUntil` with
  /// `disabledReason` "billing" (detail/openclaw_usage.hpp), in one BEGIN IMMEDIATE transaction.
  /// Every other member of the state is kept byte for byte; a running window of the same kind that
  /// ends as late or later is kept and nothing is written; a window is shared for 24 hours at
  /// most; nothing is written for a profile the store does not hold (docs/openclaw.md, "Shared
  /// cooldowns"). Errc::store_unavailable, and nothing written, when the state, its
  /// `usageStats` or the profile's entry is not a JSON object.
  [[nodiscard]] Result<void> share_cooldown(const SharedCooldown& window) {
    auto begun = begin_write(false);
    if (!begun) return unexpected(std::move(begun).error());
    Write& w = **begun;
    if (w.snap.state == State::missing) return {};  // no credential of the profile to cool
    auto state = read_state(w.db);
    if (!state) return unexpected(std::move(state).error());
    const std::string text = state->value_or(R"({"version":1})");
    const auto root = detail::json::parse(text, {.max_depth = 64, .max_size = kMaxJson});
    if (!root || !root->is_object()) {
      return unexpected(bad_state("is not a JSON object; the cooldown was not written"));
    }
    namespace usage = detail::openclaw_usage;
    std::string out;
    const auto recorded =
        usage::record(out, text, *root, place_->profile, {window.reason, window.until},
                      std::chrono::system_clock::now());
    if (recorded == usage::Recorded::malformed) return unexpected(bad_state(out));
    if (recorded == usage::Recorded::unchanged) return {};
    if (auto written = write_state(w.db, out); !written) return written;
    return w.txn->commit();
  }

  /// The cooldown window running for the profile, from OpenClaw's runtime state
  /// (`usageStats.<profile>`) as keyward or OpenClaw wrote it, with the profile's current
  /// generation. Windows of authentication failures, ended ones, ones that are not times or end
  /// more than 24 hours ahead, and a state that is not a JSON object are ignored
  /// (docs/openclaw.md, "Shared cooldowns").
  [[nodiscard]] Result<std::optional<SharedCooldown>> shared_cooldown() const {
    auto db = open();
    if (!db) return unexpected(std::move(db).error());
    auto snap = read(*db, true);
    if (!snap) return unexpected(std::move(snap).error());
    if (snap->state == State::missing) return std::optional<SharedCooldown>{};
    auto state = read_state(*db);
    if (!state) return unexpected(std::move(state).error());
    if (!*state) return std::optional<SharedCooldown>{};
    const auto root = detail::json::parse(**state, {.max_depth = 64, .max_size = kMaxJson});
    if (!root || !root->is_object()) return std::optional<SharedCooldown>{};
    namespace usage = detail::openclaw_usage;
    const auto window =
        usage::running(usage::entry_of(*root, place_->profile), std::chrono::system_clock::now());
    if (!window) return std::optional<SharedCooldown>{};
    return std::optional<SharedCooldown>{
        SharedCooldown{snap->generation, window->reason, window->until}};
  }

  /// One profile of the store as listed by profiles(): no secret.
  struct Listed {
    std::string id;              ///< The profile's id.
    std::string type;            ///< `oauth`, `api_key` or `token`.
    std::string provider;        ///< Its `provider`.
    std::string client_id;       ///< Its OAuth `clientId`, if any.
    std::string token_endpoint;  ///< Its OAuth `tokenEndpoint`, if any.
  };

  /// Every profile of the database's store, in its order (the profile this store was made for
  /// need not be one of them).
  [[nodiscard]] Result<std::vector<Listed>> profiles() const {
    auto db = open();
    if (!db) return unexpected(std::move(db).error());
    auto snap = read(*db, true);
    if (!snap) return unexpected(std::move(snap).error());
    std::vector<Listed> out;
    if (const auto* members = snap->root.find("profiles"); members != nullptr) {
      for (const auto& [id, record] : *members->as_object()) {
        out.push_back({id, std::string{record.string_or("type")},
                       std::string{record.string_or("provider")},
                       std::string{record.string_or("clientId")},
                       std::string{record.string_or("tokenEndpoint")}});
      }
    }
    return out;
  }

  /// The database that holds the shared profiles of OpenClaw state directory `state_dir`, as
  /// OpenClaw decides it (config_machine_state key `auth.sharedStore`):
  /// `<stateDir>/state/openclaw.sqlite` when it says `{"location":"state-db"}`, else the main
  /// agent's `<agentDir>/openclaw-agent.sqlite` (`agent_dir` empty:
  /// `<stateDir>/agents/main/agent`).
  [[nodiscard]] static std::string shared_database(const std::string& state_dir,
                                                   const std::string& agent_dir = {}) {
    std::string state = state_dir + "/state/openclaw.sqlite";
    if (auto db = detail::sqlite::Database::open(state, std::chrono::milliseconds{5000});
        db && shared_location(*db) == "state-db") {
      return state;
    }
    return (agent_dir.empty() ? state_dir + "/agents/main/agent" : agent_dir) +
           "/openclaw-agent.sqlite";
  }

  /// The database's path.
  [[nodiscard]] const std::string& path() const noexcept { return place_->database; }
  /// The profile's id.
  [[nodiscard]] const std::string& profile() const noexcept { return place_->profile; }

 private:
  // What this store fenced: the fence's two strings and what they replaced.
  struct Claim {
    std::string access;
    std::string refresh;
    std::string original;  // the profile's JSON before the fence
    Credential credential;
    std::uint64_t generation = 0;
    Claim() = default;
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    Claim(Claim&&) = default;
    Claim& operator=(Claim&&) = default;
    ~Claim() {
      detail::wipe(access);
      detail::wipe(refresh);
      detail::wipe(original);
    }
  };

  enum class Kind : std::uint8_t { shared, agent, unknown };

  struct Place {
    Place(std::string db, std::string id, Options opts)
        : database(std::move(db)), profile(std::move(id)), options(std::move(opts)) {
      const auto ends = [&](std::string_view tail) {
        return database.size() >= tail.size() &&
               database.compare(database.size() - tail.size(), tail.size(), tail) == 0;
      };
      kind = ends("/openclaw-agent.sqlite") || database == "openclaw-agent.sqlite" ? Kind::agent
             : ends("/openclaw.sqlite") || database == "openclaw.sqlite"           ? Kind::shared
                                                                                   : Kind::unknown;
      state_dir = options.state_dir;
      if (state_dir.empty() && kind == Kind::shared && ends("/state/openclaw.sqlite")) {
        state_dir =
            database.substr(0, database.size() - std::string_view{"/state/openclaw.sqlite"}.size());
      }
      if (state_dir.empty() && kind == Kind::agent) {
        // <stateDir>/agents/<id>/agent/openclaw-agent.sqlite
        std::string folder = database;
        for (int up = 0; up < 3 && folder.rfind('/') != std::string::npos; ++up) {
          folder.resize(folder.rfind('/'));
        }
        const auto slash = folder.rfind('/');
        if (slash != std::string::npos && folder.substr(slash + 1) == "agents") {
          state_dir = folder.substr(0, slash);
        }
      }
    }
    Place(const Place&) = delete;
    Place& operator=(const Place&) = delete;
    Place(Place&&) = delete;
    Place& operator=(Place&&) = delete;
    // The last handle is gone with its fence still in place (its token call never stored an
    // answer): settled as OpenClaw settles a failed token call, with its failed fence.
    ~Place() {
      if (claim) abandon(*this);
    }
    std::string database;
    std::string profile;
    Options options;
    Kind kind = Kind::unknown;
    std::string state_dir;
    std::mutex mutex;                                    // guards claim and lease
    std::optional<Claim> claim;                          // this store's fence, while in place
    std::weak_ptr<detail::openclaw::RefreshLock> lease;  // the lease's lock, while held
  };

  enum class State : std::uint8_t { missing, plain, own_fence, foreign_fence, failed_fence };

  // One read of the store's row, the profile and keyward's generation of it.
  struct Snapshot {
    std::string text;
    detail::json::Value root;
    State state = State::missing;
    std::uint64_t generation = 0;
    std::string note;  // why keyward's refresh was refused, for a failed fence keyward wrote
    std::string claim;
    Snapshot() = default;
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;
    Snapshot(Snapshot&&) = default;
    Snapshot& operator=(Snapshot&&) = default;
    ~Snapshot() {
      root.wipe();
      detail::wipe(text);
    }
    [[nodiscard]] const detail::json::Value* record() const {
      const auto* profiles = root.find("profiles");
      return profiles != nullptr ? profiles->find(profile) : nullptr;
    }
    std::string profile;
  };

  using Member = std::pair<std::string_view, std::string>;  // a name and its JSON text

  [[nodiscard]] std::string where() const {
    return "profile \"" + place_->profile + "\" in " + place_->database;
  }

  [[nodiscard]] Error malformed(std::string_view what) const {
    return make_error(Errc::store_unavailable, place_->database + ": " + std::string{what} +
                                                   " is not OpenClaw's auth profile store "
                                                   "(docs/openclaw.md)");
  }

  [[nodiscard]] Error no_profile() const {
    return make_error(Errc::persist_failed,
                      where() +
                          " does not exist: keyward changes only profiles OpenClaw created "
                          "(log in with OpenClaw first); nothing was written");
  }

  [[nodiscard]] Error changed(std::uint64_t now, std::uint64_t expected) const {
    return make_error(Errc::store_conflict,
                      where() + " changed meanwhile (generation " + std::to_string(now) +
                          ", expected " + std::to_string(expected) + "); nothing was written");
  }

  [[nodiscard]] Error failed_fence(const Snapshot& snap) const {
    std::string message =
        where() + ": a refresh of it failed and left OpenClaw's failed fence (claim " + snap.claim +
        ") in place of its tokens; the refresh token is spent, and neither OpenClaw "
        "nor keyward presents it again. Log in to this profile again with OpenClaw";
    if (!snap.note.empty()) message += " (keyward: " + snap.note + ")";
    return make_error(Errc::needs_reauth, std::move(message));
  }

  [[nodiscard]] Result<detail::sqlite::Database> open() const {
    if (place_->kind == Kind::unknown) {
      return unexpected(make_error(
          Errc::store_unavailable,
          place_->database +
              " is not an OpenClaw database: give <stateDir>/state/openclaw.sqlite (the shared "
              "store) or an agent's openclaw-agent.sqlite (docs/openclaw.md)"));
    }
    return detail::sqlite::Database::open(place_->database, place_->options.busy_timeout);
  }

  // Reads the row, the profile and keyward's generation. With `normalize`, a profile changed by
  // another tool is given its new generation in a transaction of its own; without, the caller's
  // transaction is used.
  Result<Snapshot> read(detail::sqlite::Database& db, bool normalize) const {
    if (normalize) {
      auto txn = detail::sqlite::Transaction::begin(db);
      if (!txn) return unexpected(std::move(txn).error());
      auto snap = read(db, false);
      if (!snap) return snap;
      if (auto done = txn->commit(); !done) return unexpected(std::move(done).error());
      return snap;
    }
    Snapshot snap;
    snap.profile = place_->profile;
    const bool shared = place_->kind == Kind::shared;
    if (shared && shared_location(db) != "state-db") {
      return unexpected(make_error(
          Errc::store_unavailable,
          place_->database +
              ": OpenClaw keeps this state directory's shared profiles in the main agent's "
              "openclaw-agent.sqlite, not here (config_machine_state key auth.sharedStore is not "
              "{\"location\":\"state-db\"}); give that database (docs/openclaw.md)"));
    }
    auto select = detail::sqlite::Statement::prepare(
        db, shared ? "SELECT value_json FROM config_machine_state WHERE state_key = "
                     "'authProfiles.store'"
                   : "SELECT store_json FROM auth_profile_store WHERE store_key = 'primary'");
    if (!select) return unexpected(std::move(select).error());
    auto row = select->step(db);
    if (!row) return unexpected(std::move(row).error());
    if (!*row) return snap;  // no store yet
    snap.text = select->text(0).value_or(std::string{});
    auto root = detail::json::parse(snap.text, {.max_depth = 64, .max_size = kMaxJson});
    if (!root || !root->is_object()) return unexpected(malformed("the stored JSON"));
    snap.root = std::move(*root);
    const auto* version = snap.root.find("version");
    if (version == nullptr || version->as_uint64() != std::uint64_t{1}) {
      return unexpected(make_error(
          Errc::store_unavailable,
          place_->database + ": OpenClaw's auth profile store has version " +
              (version != nullptr ? std::string{version->source(snap.text)} : "(none)") +
              "; keyward knows version 1 only, so it neither reads nor writes it (a newer "
              "OpenClaw changed its schema: update keyward; docs/openclaw.md)"));
    }
    const auto* profiles = snap.root.find("profiles");
    if (profiles == nullptr || !profiles->is_object()) {
      return unexpected(malformed("\"profiles\""));
    }
    if (auto classified = classify(db, snap); !classified) {
      return unexpected(std::move(classified).error());
    }
    return snap;
  }

  // The profile's fence state and keyward's generation of it, for a store read into `snap`.
  Result<void> classify(detail::sqlite::Database& db, Snapshot& snap) const {
    const detail::json::Value* record = snap.record();
    if (record == nullptr) return {};
    if (!record->is_object()) return unexpected(malformed(where()));
    snap.state = fence_state(*record, snap.claim);
    auto kept = kept_generation(db);
    if (!kept) return unexpected(std::move(kept).error());
    const std::string login = login_of(*record);
    if (kept->generation != 0 && kept->login == login) {
      snap.generation = kept->generation;
      snap.note = kept->note;
    } else {
      // Never seen, or changed by another tool since: a new generation, recorded at once so that
      // two changes between keyward's looks never share one.
      snap.generation = kept->generation + 1;
      if (auto saved = save_generation(db, snap.generation, login, {}); !saved) {
        return unexpected(std::move(saved).error());
      }
    }
    if (snap.state == State::own_fence || snap.state == State::foreign_fence) {
      const std::scoped_lock guard(place_->mutex);
      const bool ours = place_->claim && record->string_or("access") == place_->claim->access &&
                        record->string_or("refresh") == place_->claim->refresh;
      if (!ours && place_->claim) place_->claim.reset();  // ours was replaced meanwhile
      snap.state = ours ? State::own_fence : State::foreign_fence;
      if (ours) snap.generation = place_->claim->generation;
    }
    return {};
  }

  // Where OpenClaw keeps the shared profiles, as config_machine_state key auth.sharedStore says
  // (`{"location": "state-db" | "legacy-main"}`; none: legacy-main).
  static std::string shared_location(detail::sqlite::Database& db) {
    auto select = detail::sqlite::Statement::prepare(
        db, "SELECT value_json FROM config_machine_state WHERE state_key = 'auth.sharedStore'");
    if (!select) return {};
    auto row = select->step(db);
    if (!row || !*row) return "legacy-main";
    const auto value = detail::json::parse(select->text(0).value_or(std::string{}));
    return value ? std::string{value->string_or("location")} : std::string{};
  }

  // pending, failed or no fence, as OpenClaw's parseOAuthRefreshFence decides (own_fence stands
  // for any pending fence here; read() tells whose).
  static State fence_state(const detail::json::Value& record, std::string& claim) {
    if (record.string_or("type") != "oauth") return State::plain;
    const auto* expires = record.find("expires");
    if (expires == nullptr || expires->as_number() != 1.0) return State::plain;
    struct Parsed {
      std::string claim;
      bool failed = false;
      bool ok = false;
    };
    const auto parse = [](std::string_view text, std::string_view kind) {
      Parsed out;
      constexpr std::string_view kPrefix = "openclaw-oauth-refresh-fence:v1:";
      if (text.substr(0, kPrefix.size()) != kPrefix) return out;
      text.remove_prefix(kPrefix.size());
      const auto hex = [](std::string_view s, std::size_t n) {
        return s.size() == n && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
      };
      if (text.size() < 33 || !hex(text.substr(0, 32), 32) || text[32] != ':') return out;
      out.claim = std::string{text.substr(0, 32)};
      text.remove_prefix(33);
      if (text.substr(0, 7) == "failed:") {
        out.failed = true;
        text.remove_prefix(7);
      }
      if (text.substr(0, kind.size()) != kind || text.size() <= kind.size() ||
          text[kind.size()] != ':') {
        return out;
      }
      out.ok = hex(text.substr(kind.size() + 1), 64);
      return out;
    };
    const Parsed access = parse(record.string_or("access"), "access");
    const Parsed refresh = parse(record.string_or("refresh"), "refresh");
    if (!access.ok || !refresh.ok || access.claim != refresh.claim ||
        access.failed != refresh.failed) {
      return State::plain;
    }
    claim = access.claim;
    return access.failed ? State::failed_fence : State::own_fence;
  }

  // Waits a little for another process's fence to settle; an Error once `deadline` passed.
  Result<void> pause_for_fence(const Snapshot& snap,
                               std::chrono::steady_clock::time_point deadline) const {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return unexpected(
          make_error(Errc::store_unavailable,
                     where() + " is being refreshed by another process (OpenClaw's fence, claim " +
                         snap.claim + ") that did not finish within " +
                         std::to_string(place_->options.fence_wait.count()) +
                         " ms; keyward neither uses the fence as a token nor refreshes over it"));
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds{20}, deadline - now));
    return {};
  }

  struct Kept {
    std::uint64_t generation = 0;
    std::string login;
    std::string note;
  };

  Result<Kept> kept_generation(detail::sqlite::Database& db) const {
    if (auto made = db.exec(kCreateTable); !made) return unexpected(made.error());
    auto select = detail::sqlite::Statement::prepare(
        db, "SELECT generation, login, note FROM keyward_generation WHERE profile_id = ?1");
    if (!select) return unexpected(std::move(select).error());
    select->bind(1, place_->profile);
    auto row = select->step(db);
    if (!row) return unexpected(std::move(row).error());
    Kept kept;
    if (*row) {
      kept.generation = static_cast<std::uint64_t>(select->integer(0));
      kept.login = select->text(1).value_or(std::string{});
      kept.note = select->text(2).value_or(std::string{});
    }
    return kept;
  }

  Result<void> save_generation(detail::sqlite::Database& db, std::uint64_t generation,
                               std::string_view login, std::string_view note) const {
    if (auto made = db.exec(kCreateTable); !made) return unexpected(made.error());
    auto upsert = detail::sqlite::Statement::prepare(
        db,
        "INSERT INTO keyward_generation (profile_id, generation, login, note) VALUES (?1, ?2, ?3, "
        "?4) ON CONFLICT(profile_id) DO UPDATE SET generation = ?2, login = ?3, note = ?4");
    if (!upsert) return unexpected(std::move(upsert).error());
    upsert->bind(1, place_->profile);
    upsert->bind(2, static_cast<std::int64_t>(generation));
    upsert->bind(3, login);
    upsert->bind(4, note);
    auto done = upsert->step(db);
    if (!done) return unexpected(std::move(done).error());
    return {};
  }

  static constexpr std::size_t kMaxJson = std::size_t{1} << 26;  // the largest cell read

  // OpenClaw's runtime state (order, lastGood, usageStats) as stored; none when it has no row.
  Result<std::optional<std::string>> read_state(detail::sqlite::Database& db) const {
    auto select = detail::sqlite::Statement::prepare(
        db, place_->kind == Kind::shared
                ? "SELECT value_json FROM config_machine_state WHERE state_key = "
                  "'authProfiles.state'"
                : "SELECT state_json FROM auth_profile_state WHERE state_key = 'primary'");
    if (!select) return unexpected(std::move(select).error());
    auto row = select->step(db);
    if (!row) return unexpected(std::move(row).error());
    if (!*row) return std::optional<std::string>{};
    return std::optional<std::string>{select->text(0).value_or(std::string{})};
  }

  // Upserts the runtime state as OpenClaw does (writeAuthProfileJsonCell), in the caller's
  // transaction.
  Result<void> write_state(detail::sqlite::Database& db, std::string_view state) const {
    auto upsert = detail::sqlite::Statement::prepare(
        db, place_->kind == Kind::shared
                ? "INSERT INTO config_machine_state (state_key, value_json, updated_at_ms) VALUES "
                  "('authProfiles.state', ?1, ?2) ON CONFLICT(state_key) DO UPDATE SET "
                  "value_json = ?1, updated_at_ms = ?2"
                : "INSERT INTO auth_profile_state (state_key, state_json, updated_at) VALUES "
                  "('primary', ?1, ?2) ON CONFLICT(state_key) DO UPDATE SET state_json = ?1, "
                  "updated_at = ?2");
    if (!upsert) return unexpected(std::move(upsert).error());
    upsert->bind(1, state);
    upsert->bind(2, detail::openclaw_usage::to_ms(std::chrono::system_clock::now()));
    auto done = upsert->step(db);
    if (!done) return unexpected(std::move(done).error());
    return {};
  }

  [[nodiscard]] Error bad_state(std::string_view why) const {
    return make_error(Errc::store_unavailable,
                      place_->database + ": OpenClaw's auth profile state (usageStats): " +
                          std::string{why} + " (docs/openclaw.md)");
  }

  static constexpr const char* kCreateTable =
      "CREATE TABLE IF NOT EXISTS keyward_generation (profile_id TEXT NOT NULL PRIMARY KEY, "
      "generation INTEGER NOT NULL, login TEXT NOT NULL, note TEXT NOT NULL) STRICT";

  // Writes the profile's new JSON `record` into the store row, and keyward's generation of it.
  Result<void> write(detail::sqlite::Database& db, const Snapshot& snap, std::string_view record,
                     std::uint64_t generation, std::string_view note) const {
    const std::string_view old = snap.record()->source(snap.text);
    const auto at = static_cast<std::size_t>(old.data() - snap.text.data());
    std::string text = snap.text.substr(0, at);
    const detail::WipeOnExit wipe_text{text};
    text.append(record).append(snap.text.substr(at + old.size()));
    const bool shared = place_->kind == Kind::shared;
    auto update = detail::sqlite::Statement::prepare(
        db, shared ? "UPDATE config_machine_state SET value_json = ?1, updated_at_ms = ?2 WHERE "
                     "state_key = 'authProfiles.store'"
                   : "UPDATE auth_profile_store SET store_json = ?1, updated_at = ?2 WHERE "
                     "store_key = 'primary'");
    if (!update) return unexpected(std::move(update).error());
    update->bind(1, text);
    update->bind(2, detail::openclaw_usage::to_ms(std::chrono::system_clock::now()));
    auto done = update->step(db);
    if (!done) return unexpected(std::move(done).error());
    auto parsed = detail::json::parse(record, {.max_depth = 64});
    if (!parsed) return unexpected(malformed("the rewritten profile"));
    const std::string login = login_of(*parsed);
    parsed->wipe();
    return save_generation(db, generation, login, note);
  }

  // The profile's provider, which names OpenClaw's refresh lock.
  Result<std::string> provider_of(detail::sqlite::Database& db) const {
    auto snap = read(db, true);
    if (!snap) return unexpected(std::move(snap).error());
    if (snap->state == State::missing) return unexpected(no_profile());
    return std::string{snap->record()->string_or("provider")};
  }

  // One write's footing: the database, OpenClaw's refresh lock on the profile (when the write
  // takes it), the BEGIN IMMEDIATE transaction and the store as read inside it. Members are
  // destroyed in reverse: the transaction ends before the lock is released, the lock before the
  // database is closed.
  struct Write {
    explicit Write(detail::sqlite::Database opened) : db(std::move(opened)) {}
    detail::sqlite::Database db;
    std::shared_ptr<detail::openclaw::RefreshLock> lock;
    std::optional<detail::sqlite::Transaction> txn;
    Snapshot snap;
  };

  // Opens the database, takes OpenClaw's refresh lock on the profile (`locked`), begins the
  // transaction and reads the store in it. On the heap: the transaction points at `db`.
  Result<std::unique_ptr<Write>> begin_write(bool locked) {
    auto db = open();
    if (!db) return unexpected(std::move(db).error());
    auto w = std::make_unique<Write>(std::move(*db));
    if (locked) {
      auto provider = provider_of(w->db);
      if (!provider) return unexpected(std::move(provider).error());
      auto lock = refresh_lock(*provider);
      if (!lock) return unexpected(std::move(lock).error());
      w->lock = std::move(*lock);
    }
    auto txn = detail::sqlite::Transaction::begin(w->db);
    if (!txn) return unexpected(std::move(txn).error());
    w->txn.emplace(std::move(*txn));
    auto snap = read(w->db, false);
    if (!snap) return unexpected(std::move(snap).error());
    w->snap = std::move(*snap);
    return w;
  }

  Result<std::string> lock_path(std::string_view provider) const {
    if (place_->state_dir.empty()) {
      return unexpected(make_error(
          Errc::store_unavailable,
          place_->database + " is not under an OpenClaw state directory keyward can tell, so it "
                             "cannot find OpenClaw's refresh locks: set "
                             "OpenClawOptions::state_dir"));
    }
    if (provider.empty()) {
      return unexpected(malformed(where() + " has no \"provider\", which names its lock, so it"));
    }
    return detail::openclaw::refresh_lock_path(place_->state_dir, provider, place_->profile);
  }

  // The lease's lock when this store holds it, or OpenClaw's refresh lock taken for one write.
  Result<std::shared_ptr<detail::openclaw::RefreshLock>> refresh_lock(std::string_view provider) {
    {
      const std::scoped_lock guard(place_->mutex);
      if (auto held = place_->lease.lock(); held && held->held()) return held;
    }
    auto path = lock_path(provider);
    if (!path) return unexpected(std::move(path).error());
    std::string holder;
    auto lock = detail::openclaw::RefreshLock::acquire(*path, place_->options.lock_wait, &holder);
    if (!lock) return unexpected(std::move(lock).error());
    if (!lock->held()) {
      return unexpected(make_error(
          Errc::store_unavailable,
          "OpenClaw's refresh lock " + *path + " on " + where() + " is held by " + holder +
              " and was not released within " + std::to_string(place_->options.lock_wait.count()) +
              " ms; keyward never removes a lock whose process is alive, and wrote nothing"));
    }
    return std::make_shared<detail::openclaw::RefreshLock>(std::move(*lock));
  }

  // Turns `place`'s fence into the failed fence, best effort: the refresh token it replaced may
  // have been spent by a token call whose answer never came back.
  static void abandon(Place& place) noexcept {
    try {
      OpenClaw settle{place.database, place.profile, place.options};
      settle.place_->claim = std::move(place.claim);
      place.claim.reset();
      const std::uint64_t generation = settle.place_->claim->generation;
      static_cast<void>(settle.mark_refused(
          generation, RefreshRefusal{std::chrono::system_clock::now(),
                                     "keyward's token call for it never stored an answer, so "
                                     "its refresh token may be spent"}));
      settle.place_->claim.reset();
    } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor's best effort
    }
  }

  void release_lease() {
    const std::scoped_lock guard(place_->mutex);
    if (auto held = place_->lease.lock()) held->release();
    place_->lease.reset();
  }

  void forget_claim() {
    const std::scoped_lock guard(place_->mutex);
    place_->claim.reset();
  }

  static std::string_view type_name(CredentialKind kind) {
    switch (kind) {
      case CredentialKind::oauth:
        return "oauth";
      case CredentialKind::api_key:
        return "api_key";
      case CredentialKind::bearer_token:
        return "token";
    }
    return "oauth";
  }

  [[nodiscard]] Result<Credential> credential_of(const Snapshot& snap) const {
    const detail::json::Value& record = *snap.record();
    const std::string_view type = record.string_or("type");
    std::optional<TimePoint> expires;
    if (const auto* ms = record.find("expires"); ms != nullptr && !ms->is_null()) {
      if (!ms->as_number()) return unexpected(malformed(where() + ": \"expires\""));
      expires = TimePoint{std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds{
          static_cast<std::int64_t>(std::clamp(*ms->as_number(), -9e12, 9e12))})};
    }
    const auto need = [&](std::string_view name, std::string_view ref) -> Result<std::string> {
      const std::string_view value = record.string_or(name);
      if (!value.empty()) return std::string{value};
      const bool by_ref = record.find(ref) != nullptr;
      return unexpected(make_error(
          Errc::store_unavailable,
          where() + " (type \"" + std::string{type} + "\") has no \"" + std::string{name} + "\"" +
              (by_ref ? " (its secret is a reference, \"" + std::string{ref} +
                            "\", which keyward does not resolve)"
                      : std::string{})));
    };
    if (type == "oauth") {
      auto access = need("access", "oauthRef");
      if (!access) return unexpected(std::move(access).error());
      return Credential::oauth(std::move(*access), std::string{record.string_or("refresh")},
                               expires);
    }
    if (type == "api_key") {
      auto key = need("key", "keyRef");
      if (!key) return unexpected(std::move(key).error());
      return Credential::api_key(std::move(*key));
    }
    if (type == "token") {
      auto token = need("token", "tokenRef");
      if (!token) return unexpected(std::move(token).error());
      return Credential::bearer(std::move(*token), expires);
    }
    return unexpected(
        make_error(Errc::store_unavailable, where() + " has type \"" + std::string{type} +
                                                R"("; expected "oauth", "api_key" or "token")"));
  }

  // The members a credential writes, and those it removes when it has no value for them.
  static void members_of(const Credential& next, std::vector<Member>& set,
                         std::vector<std::string_view>& drop) {
    const auto expires = [&] {
      if (!next.expires_at) {
        drop.emplace_back("expires");
        return;
      }
      set.emplace_back("expires",
                       std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          next.expires_at->time_since_epoch())
                                          .count()));
    };
    switch (next.kind) {
      case CredentialKind::oauth:
        set.emplace_back("access", quoted(next.token.reveal()));
        if (next.refresh_token.empty()) {
          drop.emplace_back("refresh");
        } else {
          set.emplace_back("refresh", quoted(next.refresh_token.reveal()));
        }
        expires();
        break;
      case CredentialKind::api_key:
        set.emplace_back("key", quoted(next.token.reveal()));
        break;
      case CredentialKind::bearer_token:
        set.emplace_back("token", quoted(next.token.reveal()));
        expires();
        break;
    }
  }

  // `value` (a JSON object parsed from `document`) written compactly as OpenClaw writes it: the
  // members in `set` replaced where they are (or, `at_end`, moved to the end, as OpenClaw's
  // fence puts them), those in `drop` and not in `set` left out, every other member copied
  // byte for byte.
  static std::string rewrite(std::string_view document, const detail::json::Value& value,
                             const std::vector<Member>& set,
                             const std::vector<std::string_view>& drop, bool at_end = false) {
    std::string out = "{";
    std::vector<bool> done(set.size(), false);
    bool first = true;
    const auto comma = [&] {
      if (!first) out.push_back(',');
      first = false;
    };
    for (const auto& entry : *value.as_object()) {
      const std::string& name = entry.first;
      const detail::json::Value& member = entry.second;
      const auto replaced =
          std::find_if(set.begin(), set.end(), [&](const Member& m) { return m.first == name; });
      if (replaced != set.end() && at_end) continue;
      if (replaced != set.end()) {
        comma();
        detail::openclaw::append_js_json_string(out, name);
        out.append(":").append(replaced->second);
        done[static_cast<std::size_t>(replaced - set.begin())] = true;
        continue;
      }
      if (std::find(drop.begin(), drop.end(), name) != drop.end()) continue;
      comma();
      out.append(member.member_source(document));
    }
    for (std::size_t i = 0; i < set.size(); ++i) {
      if (done[i]) continue;
      comma();
      detail::openclaw::append_js_json_string(out, set[i].first);
      out.append(":").append(set[i].second);
    }
    out.push_back('}');
    return out;
  }

  static std::string quoted(std::string_view text) {
    std::string out;
    detail::openclaw::append_js_json_string(out, text);
    return out;
  }

  // OpenClaw's buildOAuthRefreshSecretDigest.
  [[nodiscard]] std::string digest(std::string_view provider, std::string_view kind,
                                   std::string_view secret) const {
    std::string input = R"(["openclaw.oauth-refresh-generation",1,)";
    const detail::WipeOnExit wipe_input{input};
    detail::openclaw::append_js_json_string(input, place_->profile);
    input.push_back(',');
    detail::openclaw::append_js_json_string(input, provider);
    input.push_back(',');
    detail::openclaw::append_js_json_string(input, kind);
    input.push_back(',');
    detail::openclaw::append_js_json_string(input, secret);
    input.push_back(']');
    return detail::sha256_hex(input);
  }

  static std::string fence_text(std::string_view claim, std::string_view kind,
                                std::string_view digest) {
    return "openclaw-oauth-refresh-fence:v1:" + std::string{claim} + ":" + std::string{kind} + ":" +
           std::string{digest};
  }

  static std::string random_hex(std::size_t bytes) {
    constexpr std::string_view kHex = "0123456789abcdef";
    std::random_device random;
    std::string out;
    for (std::size_t i = 0; i < bytes; ++i) {
      const auto byte = static_cast<unsigned>(random() & 0xffU);
      out.push_back(kHex[byte >> 4U]);
      out.push_back(kHex[byte & 0xfU]);
    }
    return out;
  }

  // What identifies the profile's credential as stored: a digest of its secrets' members.
  static std::string login_of(const detail::json::Value& record) {
    std::string input;
    const detail::WipeOnExit wipe_input{input};
    for (const std::string_view name : {"type", "access", "refresh", "key", "token"}) {
      detail::openclaw::append_js_json_string(input, record.string_or(name));
    }
    if (const auto* expires = record.find("expires"); expires != nullptr && expires->as_number()) {
      input += std::to_string(*expires->as_number());
    }
    return detail::sha256_hex(input).substr(0, 32);
  }

  std::shared_ptr<Place> place_;
};

static_assert(CredentialStore<OpenClaw>);
static_assert(MarksRefreshes<OpenClaw>);
static_assert(RecordsRefusals<OpenClaw>);
static_assert(SharesCooldowns<OpenClaw>);

}  // namespace keyward::store
