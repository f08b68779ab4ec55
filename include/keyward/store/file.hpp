// store::File: a CredentialStore in a JSON credentials file shared by the processes of one host.
//
// The format is in docs/credentials-file.md: `{"version": 1, "profiles": {"<id>": {...}}}`, the
// shape of older OpenClaw releases' auth-profiles.json (current ones use SQLite: see there). Every
// member keyward does not own (other profiles, `order`, `usageStats` but for the cooldowns below,
// a profile's `email`) is written back unchanged, copied from the file's text, and a rewrite keeps
// the file's layout (one line, or indented by two spaces, four, a tab); a rewrite the reader would
// refuse (too large, a generation past its bound) is not written.
//
//   - Writes replace the file: a new file (mode 0600) in the same folder, fsynced, renamed over
//     the old one, the folder fsynced (detail::replace_file). A reader sees the old credential or
//     the new one, and a crash loses neither.
//   - Each write happens under a write lock and re-reads the file first, so a compare-and-swap
//     between processes is exact; a rotation is also written to every other profile of the file
//     that held the same refresh token (one login under two names), which then adopt it.
//   - The refresh lease is a lock keyed by the login (the stored refresh token, or the profile
//     when there is none), held across re-read, redeem and persist, so the processes of a host
//     refresh a login once. The kernel releases it if its holder dies (detail::ByteLock).
//   - The locks are bytes of keyward's own lock file, `.<name>.keyward-lock` beside the real
//     file (symlinks are resolved once, at construction); the seed system's `<file>.lock` is
//     waited for and never touched, and nothing is written inside an OpenClaw state directory
//     whose credentials moved to SQLite (docs/credentials-file.md, "OpenClaw").
//   - Cooldown windows (rate limits, quotas) are shared through the file's `usageStats`, in
//     OpenClaw's own members, so that keyward and OpenClaw honour each other's windows
//     (detail/openclaw_usage.hpp; docs/credentials-file.md, "Cooldowns").
//   - Before each token call the store writes a `refresh_pending` marker; the write of the new
//     credential removes it. A marker found later means a refresh began and never stored its
//     result: if the server had rotated the refresh token, the new one is gone, and the refusal
//     of the old one then says so (docs/credentials-file.md, "Interrupted refreshes").
//
// Linux only (open-file-description locks). Why this header is over 300 lines: it is one format,
// read and written, with its locking; splitting it would scatter the format.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/credential.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/detail/file_io.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/json_write.hpp"
#include "keyward/detail/openclaw_usage.hpp"
#include "keyward/error.hpp"
#include "keyward/result.hpp"

namespace keyward::store {

/// How store::File opens a credentials file.
struct FileOptions {
  /// Written as a new profile's `provider` member (e.g. "anthropic"); kept when it exists.
  std::string provider{};
  /// A larger file is refused as not being a credentials file.
  std::size_t max_size = std::size_t{1} << 20;
  /// How long a write waits for the write lock, and for the seed system's lock (`<file>.lock`
  /// of an older OpenClaw) to go, before it fails with Errc::store_unavailable.
  std::chrono::milliseconds lock_wait = std::chrono::seconds{10};
  /// Write the file even inside an OpenClaw state directory whose credentials moved to SQLite
  /// (docs/credentials-file.md, "OpenClaw"). Off: such writes fail with Errc::persist_failed,
  /// since current OpenClaw releases refuse providers while such a file is unmigrated.
  bool write_where_openclaw_uses_sqlite = false;
};

/// A credential store in a JSON credentials file; copies share one file and profile.
class File {
 public:
  /// How to open the file.
  using Options = FileOptions;

  /// The refresh lease: a lock on the login, held until destroyed.
  class Lease {
   public:
    Lease() = default;
    /// True when this caller holds the lease.
    [[nodiscard]] bool held() const noexcept { return lock_.held(); }

   private:
    friend class File;
    explicit Lease(detail::ByteLock lock) noexcept : lock_(std::move(lock)) {}
    detail::ByteLock lock_;
  };

  /// The store for profile `profile` of the credentials file at `path` (which need not exist
  /// yet: the first write creates it). Symlinks in `path` are resolved once, here: the real file
  /// is read, written and locked, so a link and its target share one lock and the link stays.
  File(std::string path, std::string profile, Options options = {})
      : place_(std::make_shared<const Place>(
            Place{detail::real_path(std::move(path)), std::move(profile), std::move(options)})) {}

  /// The stored credential and its generation (0 when the file or the profile does not exist).
  /// An Error names the file and what is wrong with it, never a secret.
  [[nodiscard]] Result<StoredCredential> load() const {
    auto document = read();
    if (!document) return unexpected(std::move(document).error());
    return document->stored;
  }

  /// Writes `next` if the profile's generation is still `expected`, under the write lock.
  [[nodiscard]] Result<std::uint64_t> compare_and_swap(std::uint64_t expected,
                                                       const Credential& next) {
    return write(
        [&](Document& document) -> Result<std::uint64_t> {
          if (document.stored.generation != expected) {
            return unexpected(make_error(Errc::store_conflict,
                                         "profile " + place_->profile + " in " + place_->path +
                                             " changed meanwhile (generation " +
                                             std::to_string(document.stored.generation) +
                                             ", expected " + std::to_string(expected) + ")"));
          }
          return document.stored.generation + 1;
        },
        next, std::nullopt);
  }

  /// Takes the refresh lease of the stored login, waiting up to `wait` for another holder (in
  /// this process or another).
  [[nodiscard]] Result<Lease> lease(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    if (auto waited = wait_for_seed_lock(deadline, wait); !waited) {
      return unexpected(std::move(waited).error());
    }
    auto document = read();
    if (!document) return unexpected(std::move(document).error());
    const std::string_view login = document->stored.credential.refresh_token.empty()
                                       ? std::string_view{place_->profile}
                                       : document->stored.credential.refresh_token.reveal();
    // Byte 0 is the write lock; a login's lease is a byte chosen by its hash.
    constexpr std::uint64_t kLeaseBytes = std::uint64_t{1} << 40;
    const auto left = std::max(std::chrono::milliseconds{0},
                               std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - std::chrono::steady_clock::now()));
    auto lock = detail::ByteLock::acquire(lock_path(), 1 + hash(login) % kLeaseBytes, left);
    if (!lock) return unexpected(std::move(lock).error());
    return Lease{std::move(*lock)};
  }

  /// True: the file outlives the process.
  [[nodiscard]] bool durable() const noexcept { return true; }

  /// Writes the `refresh_pending` marker for `generation` before a token call; the next write of
  /// a credential removes it. Errc::store_conflict, and nothing written, when the profile
  /// changed meanwhile: the caller re-reads it before any token call. Nothing is written when the
  /// file holds no credential for the profile (generation 0): there is no stored token to mark.
  [[nodiscard]] Result<void> mark_refreshing(std::uint64_t generation, TimePoint now) {
    auto written = write(
        [&](Document& document) -> Result<std::uint64_t> {
          if (document.stored.generation != generation) {
            return unexpected(make_error(Errc::store_conflict,
                                         "the profile changed since it was read (generation " +
                                             std::to_string(document.stored.generation) + ", not " +
                                             std::to_string(generation) + ")"));
          }
          return generation;
        },
        std::nullopt, now);
    if (!written) return unexpected(std::move(written).error());
    return {};
  }

  /// Records that the token endpoint refused the refresh token of `generation`, and removes its
  /// refresh marker, so that no holder presents that token again; the next write of a credential
  /// removes the record. Errc::store_conflict when the profile changed meanwhile; nothing is
  /// written when the file holds no credential for the profile.
  [[nodiscard]] Result<void> mark_refused(std::uint64_t generation, const RefreshRefusal& refusal) {
    auto written = write(
        [&](Document& document) -> Result<std::uint64_t> {
          if (document.stored.generation != generation) {
            return unexpected(make_error(Errc::store_conflict, "the profile changed meanwhile"));
          }
          return generation;
        },
        std::nullopt, std::nullopt, &refusal);
    if (!written) return unexpected(std::move(written).error());
    return {};
  }

  /// Shares a cooldown window with every holder of the profile, keyward's or OpenClaw's: written
  /// into the file's `usageStats.<profile>` in OpenClaw's members (a rate limit as
  /// `cooldownUntil` with `cooldownReason` "rate_limit", a quota as `disabledUntil` with
  /// `disabledReason` "billing"), under the write lock and with the same last look as every
  /// write; every other byte of the file is kept. A running window of the same kind that ends as
  /// late or later is kept and nothing is written; so is a file without the profile. The window
  /// is the profile's, as in OpenClaw, whatever its generation (docs/credentials-file.md,
  /// "Cooldowns"). Errc::store_unavailable, and nothing written, when `usageStats` or the
  /// profile's entry is not an object.
  [[nodiscard]] Result<void> share_cooldown(const SharedCooldown& window) {
    auto lock = write_lock();
    if (!lock) return unexpected(std::move(lock).error());
    auto document = read();
    if (!document) return unexpected(std::move(document).error());
    if (document->stored.generation == 0) return {};  // no credential of the profile to cool
    std::string text;
    const detail::WipeOnExit wipe_text{text};
    namespace usage = detail::openclaw_usage;
    const auto recorded =
        usage::record(text, document->text, document->root, place_->profile,
                      {window.reason, window.until}, std::chrono::system_clock::now());
    if (recorded == usage::Recorded::malformed) return unexpected(malformed(text));
    if (recorded == usage::Recorded::unchanged) return {};
    if (text.size() > place_->options.max_size) {
      return unexpected(make_error(Errc::store_unavailable,
                                   place_->path + ": with the cooldown the file would be " +
                                       std::to_string(text.size()) + " bytes, over its " +
                                       std::to_string(place_->options.max_size) +
                                       "-byte limit (FileOptions::max_size); nothing was written"));
    }
    return detail::replace_file(place_->path, text, [&] { return still_ours(*lock); });
  }

  /// The cooldown window running for the profile, from the file's `usageStats.<profile>`, as
  /// keyward or OpenClaw wrote it, with the profile's current generation. Windows of
  /// authentication failures, ended ones, and ones that are not times or end more than 24 hours
  /// ahead are ignored (docs/credentials-file.md, "Cooldowns").
  [[nodiscard]] Result<std::optional<SharedCooldown>> shared_cooldown() const {
    auto document = read();
    if (!document) return unexpected(std::move(document).error());
    if (document->root.is_null()) return std::optional<SharedCooldown>{};
    const auto window = detail::openclaw_usage::running(
        detail::openclaw_usage::entry_of(document->root, place_->profile),
        std::chrono::system_clock::now());
    if (!window) return std::optional<SharedCooldown>{};
    return std::optional<SharedCooldown>{
        SharedCooldown{document->stored.generation, window->reason, window->until}};
  }

  /// The file's real path (symlinks resolved when the store was made).
  [[nodiscard]] const std::string& path() const noexcept { return place_->path; }
  /// The profile's id.
  [[nodiscard]] const std::string& profile() const noexcept { return place_->profile; }

 private:
  struct Place {
    std::string path;
    std::string profile;
    Options options;
  };

  // A read of the file: its text and the document parsed from it (secrets wiped with them), and
  // the profile's credential.
  struct Document {
    std::string text;
    detail::json::Value root;
    StoredCredential stored;
    std::uint64_t written_generation = 0;  // the `generation` member as written
    Document() = default;
    Document(const Document&) = delete;
    Document& operator=(const Document&) = delete;
    Document(Document&&) = default;
    Document& operator=(Document&&) = default;
    ~Document() {
      root.wipe();
      detail::wipe(text);
    }
  };

  // keyward's own lock file, beside the credentials file under a name no other tool uses; never
  // `<file>.lock`, which is the seed system's (seed_lock_path()).
  [[nodiscard]] std::string lock_path() const {
    const auto slash = place_->path.rfind('/');
    const std::size_t name = slash == std::string::npos ? 0 : slash + 1;
    return place_->path.substr(0, name) + "." + place_->path.substr(name) + ".keyward-lock";
  }
  [[nodiscard]] std::string seed_lock_path() const { return place_->path + ".lock"; }

  // Waits until the seed system's lock on the file (an older OpenClaw's `<file>.lock`) is not
  // held, up to `deadline`; never removes it. OpenClaw's lock goes stale after 30 s.
  [[nodiscard]] Result<void> wait_for_seed_lock(std::chrono::steady_clock::time_point deadline,
                                                std::chrono::milliseconds wait) const {
    constexpr std::chrono::milliseconds kOpenClawStale{30'000};
    auto pause = std::chrono::milliseconds{5};
    for (;;) {
      const auto holder = detail::seed_lock_holder(
          seed_lock_path(), std::chrono::system_clock::now(), kOpenClawStale);
      if (!holder) return {};
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        return unexpected(make_error(
            Errc::store_unavailable,
            seed_lock_path() + " is held by " + *holder + " and was not released within " +
                std::to_string(wait.count()) + " ms, so keyward did not touch " + place_->path +
                "; it never removes another tool's lock: if no such process runs, remove it"));
      }
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
      pause = std::min(pause * 2, std::chrono::milliseconds{50});
    }
  }

  // The OpenClaw database that took over this file's credentials, if any: `openclaw-agent.sqlite`
  // beside it, or `state/openclaw.sqlite` in a folder above it (the state directory).
  [[nodiscard]] std::optional<std::string> openclaw_database() const {
    const auto exists = [](const std::string& path) {
      struct stat info {};
      return ::stat(path.c_str(), &info) == 0;
    };
    const auto last = place_->path.rfind('/');
    std::string folder = last == std::string::npos ? "." : place_->path.substr(0, last);
    if (exists(folder + "/openclaw-agent.sqlite")) return folder + "/openclaw-agent.sqlite";
    for (;;) {
      if (exists(folder + "/state/openclaw.sqlite")) return folder + "/state/openclaw.sqlite";
      const auto slash = folder.rfind('/');
      if (slash == std::string::npos || folder.empty()) return std::nullopt;
      folder.resize(slash);
    }
  }

  // keyward's write lock, and the file as it was once the lock was taken and the seed system's
  // lock had gone.
  struct WriteLock {
    detail::ByteLock lock;
    detail::FileStamp stamp;
  };

  // Refuses to write where OpenClaw moved to SQLite; takes keyward's write lock, then waits for
  // the seed system's lock to go, all within FileOptions::lock_wait.
  [[nodiscard]] Result<WriteLock> write_lock() const {
    if (!place_->options.write_where_openclaw_uses_sqlite) {
      if (auto database = openclaw_database()) {
        return unexpected(make_error(
            Errc::persist_failed,
            place_->path +
                " is in an OpenClaw state directory whose credentials moved to SQLite (" +
                *database +
                " exists): current OpenClaw releases ignore this file once their database holds "
                "credentials and refuse those providers while an unmigrated one is present, so "
                "keyward does not write it (reading it is allowed). Give keyward a file of its "
                "own, or set FileOptions::write_where_openclaw_uses_sqlite "
                "(docs/credentials-file.md, \"OpenClaw\")"));
      }
    }
    const auto wait = place_->options.lock_wait;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    auto lock = detail::ByteLock::acquire(lock_path(), 0, wait);
    if (!lock) return unexpected(std::move(lock).error());
    if (!lock->held()) {
      return unexpected(make_error(Errc::store_unavailable,
                                   "another process held the write lock of " + place_->path +
                                       " for " + std::to_string(wait.count()) + " ms"));
    }
    // Under keyward's lock, so other keyward processes queue behind this one meanwhile.
    if (auto waited = wait_for_seed_lock(deadline, wait); !waited) {
      return unexpected(std::move(waited).error());
    }
    return WriteLock{std::move(*lock), detail::FileStamp::of(place_->path)};
  }

  // The last look before a write's rename. The seed system does not take keyward's lock: if it
  // holds its own now, wait for it to go; if the file changed since `lock` was taken (another
  // tool wrote it meanwhile), write nothing: Errc::store_conflict, and the caller re-reads.
  [[nodiscard]] Result<void> still_ours(const WriteLock& lock) const {
    const auto wait = place_->options.lock_wait;
    if (auto waited = wait_for_seed_lock(std::chrono::steady_clock::now() + wait, wait); !waited) {
      return waited;
    }
    if (!detail::FileStamp::of(place_->path).same_as(lock.stamp)) {
      return unexpected(make_error(Errc::store_conflict,
                                   place_->path +
                                       " was changed by another tool while keyward was writing "
                                       "it; nothing was written"));
    }
    return {};
  }

  [[nodiscard]] Error malformed(std::string_view what) const {
    return make_error(Errc::store_unavailable, place_->path + ": " + std::string{what} +
                                                   " (the format is in docs/credentials-file.md)");
  }

  [[nodiscard]] Result<Document> read() const {
    auto text = detail::read_file(place_->path, place_->options.max_size);
    if (!text) return unexpected(std::move(text).error());
    Document document;
    if (!*text) return document;  // no file yet
    document.text = std::move(**text);
    auto root =
        detail::json::parse(document.text, {.max_depth = 64, .max_size = place_->options.max_size});
    if (!root || !root->is_object()) return unexpected(malformed("not a JSON object"));
    document.root = std::move(*root);
    const detail::json::Value* profiles = document.root.find("profiles");
    if (profiles != nullptr && !profiles->is_object()) {
      return unexpected(malformed("\"profiles\" is not an object"));
    }
    const detail::json::Value* record =
        profiles != nullptr ? profiles->find(place_->profile) : nullptr;
    if (record == nullptr) return document;
    auto credential = credential_of(*record);
    if (!credential) return unexpected(std::move(credential).error());
    document.stored.credential = std::move(*credential);
    auto generation = written_generation(place_->profile, *record);
    if (!generation) return unexpected(std::move(generation).error());
    document.written_generation = *generation;
    // A generation keyward did not write (another tool replaced the credential and kept or
    // dropped the member) counts as one more, so that holders see a change.
    const bool ours = document.written_generation != 0 &&
                      record->string_or("generation_of") == login_hash(document.stored.credential);
    document.stored.generation =
        ours ? document.written_generation : document.written_generation + 1;
    if (const detail::json::Value* pending = record->find("refresh_pending")) {
      if (const auto since = pending->is_object() && pending->find("since") != nullptr
                                 ? pending->find("since")->as_number()
                                 : std::nullopt) {
        document.stored.refresh_pending = from_ms(*since);
      }
    }
    if (const detail::json::Value* refused = record->find("refresh_refused");
        refused != nullptr && refused->is_object() && refused->find("at") != nullptr) {
      if (const auto at = refused->find("at")->as_number()) {
        document.stored.refresh_refused =
            RefreshRefusal{from_ms(*at), std::string{refused->string_or("reason")}};
      }
    }
    return document;
  }

  // The profile's credential, in OpenClaw's shapes: oauth (access, refresh, expires), api_key
  // (key), token (token, expires). Times are milliseconds since 1970.
  [[nodiscard]] Result<Credential> credential_of(const detail::json::Value& record) const {
    if (!record.is_object()) return unexpected(malformed(profile_text() + " is not an object"));
    const std::string_view type = record.string_or("type");
    std::optional<TimePoint> expires;
    if (const detail::json::Value* ms = record.find("expires"); ms != nullptr && !ms->is_null()) {
      if (!ms->as_number()) {
        return unexpected(malformed(profile_text() + ": \"expires\" is not a number"));
      }
      expires = from_ms(*ms->as_number());
    }
    const auto need = [&](std::string_view name) -> Result<std::string> {
      const std::string_view value = record.string_or(name);
      if (value.empty()) {
        return unexpected(malformed(profile_text() + " (type \"" + std::string{type} +
                                    "\") has no \"" + std::string{name} + "\""));
      }
      return std::string{value};
    };
    if (type == "oauth") {
      auto access = need("access");
      if (!access) return unexpected(std::move(access).error());
      return Credential::oauth(std::move(*access), std::string{record.string_or("refresh")},
                               expires);
    }
    if (type == "api_key") {
      auto key = need("key");
      if (!key) return unexpected(std::move(key).error());
      return Credential::api_key(std::move(*key));
    }
    if (type == "token") {
      auto token = need("token");
      if (!token) return unexpected(std::move(token).error());
      return Credential::bearer(std::move(*token), expires);
    }
    return unexpected(malformed(profile_text() + " has type \"" + std::string{type} +
                                R"("; expected "oauth", "api_key" or "token")"));
  }

  [[nodiscard]] std::string profile_text() const { return "profile \"" + place_->profile + "\""; }

  // Under the write lock: re-reads the file, lets `decide` check it and name the generation to
  // write, then writes `next` (or, without one, the stored credential with the marker of
  // `pending`) to the profile and to every profile that held the same refresh token.
  template <class Decide>
  Result<std::uint64_t> write(Decide decide, const std::optional<Credential>& next,
                              std::optional<TimePoint> pending,
                              const RefreshRefusal* refused = nullptr) {
    auto lock = write_lock();
    if (!lock) return unexpected(std::move(lock).error());
    auto document = read();
    if (!document) return unexpected(std::move(document).error());
    auto generation = decide(*document);
    if (!generation) return generation;
    // A mark describes the stored credential: with none stored there is nothing to mark, and a
    // profile without its secret would be one the reader refuses.
    if (!next && document->stored.generation == 0) return generation;
    // Every generation written must be one the reader takes back.
    if (*generation > kMaxGeneration) return unexpected(exhausted(place_->profile));
    const Credential& credential = next ? *next : document->stored.credential;
    const std::string old_refresh{document->stored.credential.refresh_token.reveal()};
    if (const auto* profiles = document->root.find("profiles")) {
      for (const auto& [name, record] : *profiles->as_object()) {
        if (name == place_->profile || !same_login(record, credential, old_refresh)) continue;
        if (auto checked = written_generation(name, record); !checked) {
          return unexpected(std::move(checked).error());
        }
        if (sibling_generation(record) > kMaxGeneration) return unexpected(exhausted(name));
      }
    }
    std::string text;
    const detail::WipeOnExit wipe_text{text};
    write_document(text, *document, credential, *generation, {pending, refused}, old_refresh);
    // A file the reader would refuse is never written: every later load would fail.
    if (text.size() > place_->options.max_size) {
      return unexpected(
          make_error(Errc::store_unavailable,
                     place_->path + ": the rewritten file would be " + std::to_string(text.size()) +
                         " bytes, over the " + std::to_string(place_->options.max_size) +
                         "-byte limit of its reader (FileOptions::max_size); nothing was written"));
    }
    if (auto replaced = detail::replace_file(place_->path, text, [&] { return still_ours(*lock); });
        !replaced) {
      return unexpected(std::move(replaced).error());
    }
    return generation;
  }

  // What a write of the profile records beside its credential.
  struct Marks {
    std::optional<TimePoint> pending;  // a refresh began
    const RefreshRefusal* refused;     // its refresh token was refused
  };

  // What one write puts in the file: the profile's credential, marks and generation.
  struct Change {
    const Credential& credential;
    std::uint64_t generation;
    Marks marks;
    std::string_view old_refresh;
  };

  // `"name": ` of a member as the file has it.
  static std::string_view name_of(const detail::json::Value& value, std::string_view text) {
    const std::string_view member = value.member_source(text);
    return member.substr(0, member.size() - value.source(text).size());
  }

  // The document as read, in its own style, with the profile (and the profiles sharing its login)
  // rewritten; every other member is copied from the file's text byte for byte.
  void write_document(std::string& out, const Document& document, const Credential& credential,
                      std::uint64_t generation, Marks marks, std::string_view old_refresh) const {
    const std::string_view text = document.text;
    const detail::json::Style style = detail::json::detect_style(text, document.root);
    const Change change{credential, generation, marks, old_refresh};
    const std::string_view root = document.root.source(text);
    // Whitespace around the root object stays as it was; a new file ends with a line break.
    const std::size_t begin =
        root.empty() ? 0 : static_cast<std::size_t>(root.data() - text.data());
    out.append(root.empty() ? std::string_view{} : text.substr(0, begin));
    detail::json::ObjectWriter object{out, style, 0};
    bool wrote_version = false;
    bool wrote_profiles = false;
    if (const auto* members = document.root.as_object()) {
      for (const auto& [name, value] : *members) {
        if (name == "profiles") {
          object.member(name_of(value, text));
          write_profiles(out, style, text, &value, change);
          wrote_profiles = true;
        } else {
          object.member(value.member_source(text));
          wrote_version = wrote_version || name == "version";
        }
      }
    }
    if (!wrote_version) {
      object.name("version");
      out.append("1");
    }
    if (!wrote_profiles) {
      object.name("profiles");
      write_profiles(out, style, text, nullptr, change);
    }
    object.close();
    out.append(root.empty() ? std::string_view{"\n"} : text.substr(begin + root.size()));
  }

  void write_profiles(std::string& out, const detail::json::Style& style, std::string_view text,
                      const detail::json::Value* profiles, const Change& change) const {
    detail::json::ObjectWriter object{out, style, 1};
    bool wrote_ours = false;
    if (const auto* members = profiles != nullptr ? profiles->as_object() : nullptr) {
      for (const auto& [name, record] : *members) {
        if (name == place_->profile) {
          object.member(name_of(record, text));
          write_record(out, style, text, &record, change.credential, change.generation,
                       change.marks);
          wrote_ours = true;
        } else if (same_login(record, change.credential, change.old_refresh)) {
          object.member(name_of(record, text));
          write_record(out, style, text, &record, change.credential, sibling_generation(record),
                       {});
        } else {
          object.member(record.member_source(text));
        }
      }
    }
    if (!wrote_ours) {
      object.name(place_->profile);
      write_record(out, style, text, nullptr, change.credential, change.generation, change.marks);
    }
    object.close();
  }

  // Another name for the login that rotated from `old_refresh`: it gets the new tokens too.
  static bool same_login(const detail::json::Value& record, const Credential& credential,
                         std::string_view old_refresh) {
    // Only a rotation spreads: an OAuth credential with a new refresh token. An API key or a
    // token replacing the profile is that profile's business alone.
    return !old_refresh.empty() && record.is_object() && credential.kind == CredentialKind::oauth &&
           !credential.refresh_token.empty() && record.string_or("refresh") == old_refresh &&
           credential.refresh_token.reveal() != old_refresh;
  }

  // The largest `generation` the reader takes: keyward adds up to two to one it reads.
  static constexpr std::uint64_t kMaxGeneration = std::numeric_limits<std::uint64_t>::max() - 2;

  [[nodiscard]] Error exhausted(std::string_view profile) const {
    return make_error(Errc::store_unavailable,
                      place_->path + ": profile \"" + std::string{profile} +
                          R"(": "generation" cannot advance past 2^64 - 3; nothing was written)");
  }

  // The record's `generation` member read exactly from its text (0 when absent). Anything but a
  // whole number below 2^64 - 2 (negative, fractional, with an exponent, too large) is refused:
  // keyward adds up to two to it and must never wrap or round.
  [[nodiscard]] Result<std::uint64_t> written_generation(std::string_view profile,
                                                         const detail::json::Value& record) const {
    const detail::json::Value* member = record.find("generation");
    if (member == nullptr) return std::uint64_t{0};
    const std::optional<std::uint64_t> value = member->as_uint64();
    if (!value || *value > kMaxGeneration) {
      return unexpected(malformed("profile \"" + std::string{profile} +
                                  R"(": "generation" is not a whole number from 0 to 2^64 - 3)"));
    }
    return *value;
  }

  // Two more than the record's written generation: a change whether or not keyward wrote the
  // record last (docs/credentials-file.md, `generation_of`). Checked by write() beforehand.
  static std::uint64_t sibling_generation(const detail::json::Value& record) {
    const auto* written = record.find("generation");
    return (written != nullptr ? written->as_uint64().value_or(0) : 0) + 2;
  }

  // One profile: the members keyward does not own as the file has them, then the credential's.
  void write_record(std::string& out, const detail::json::Style& style, std::string_view source,
                    const detail::json::Value* record, const Credential& credential,
                    std::uint64_t generation, Marks marks) const {
    static constexpr std::array<std::string_view, 10> kOwned = {
        "type",  "access",     "refresh",       "expires",         "key",
        "token", "generation", "generation_of", "refresh_pending", "refresh_refused"};
    detail::json::ObjectWriter object{out, style, 2};
    const auto text = [&](std::string_view name, std::string_view value) {
      object.name(name);
      detail::append_json_string(out, value);
    };
    const auto time = [&](std::string_view name, TimePoint at) {
      object.name(name);
      detail::json::write_number(out, static_cast<double>(to_ms(at)));
    };
    bool has_provider = false;
    if (record != nullptr && record->as_object() != nullptr) {
      for (const auto& [name, value] : *record->as_object()) {
        if (std::find(kOwned.begin(), kOwned.end(), name) != kOwned.end()) continue;
        object.member(value.member_source(source));
        has_provider = has_provider || name == "provider";
      }
    }
    switch (credential.kind) {
      case CredentialKind::oauth:
        text("type", "oauth");
        text("access", credential.token.reveal());
        if (!credential.refresh_token.empty()) text("refresh", credential.refresh_token.reveal());
        break;
      case CredentialKind::api_key:
        text("type", "api_key");
        text("key", credential.token.reveal());
        break;
      case CredentialKind::bearer_token:
        text("type", "token");
        text("token", credential.token.reveal());
        break;
    }
    if (credential.expires_at) time("expires", *credential.expires_at);
    if (!has_provider && !place_->options.provider.empty()) {
      text("provider", place_->options.provider);
    }
    object.name("generation");
    out.append(std::to_string(generation));  // exact: never through a double
    text("generation_of", login_hash(credential));
    // The marks are small objects on one line, spaced like the file.
    const std::string_view comma = style.multiline ? std::string_view{", "} : style.comma;
    if (marks.pending) {
      object.name("refresh_pending");
      out.append("{\"since\"").append(style.colon);
      detail::json::write_number(out, static_cast<double>(to_ms(*marks.pending)));
      out.push_back('}');
    }
    if (marks.refused != nullptr) {
      object.name("refresh_refused");
      out.append("{\"at\"").append(style.colon);
      detail::json::write_number(out, static_cast<double>(to_ms(marks.refused->at)));
      out.append(comma).append("\"reason\"").append(style.colon);
      detail::append_json_string(out, marks.refused->reason);
      out.push_back('}');
    }
    object.close();
  }

  // FNV-1a, 64 bits: a lock offset, and the check that a record is the one keyward wrote.
  static std::uint64_t hash(std::string_view text) noexcept {
    std::uint64_t h = 14695981039346656037ULL;
    for (const char c : text) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    return h;
  }
  static std::string login_hash(const Credential& credential) {
    const std::uint64_t h =
        hash(credential.token.reveal()) ^ (hash(credential.refresh_token.reveal()) * 31);
    constexpr std::string_view kHex = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 0; i < 16; ++i) out[static_cast<std::size_t>(i)] = kHex[(h >> (60 - 4 * i)) & 15];
    return out;
  }

  static std::int64_t to_ms(TimePoint at) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  }
  // Clamped to what a TimePoint holds (about 292 years either side of 1970).
  static TimePoint from_ms(double ms) {
    constexpr double kLimit = 9e12;
    return TimePoint{std::chrono::duration_cast<TimePoint::duration>(
        std::chrono::milliseconds{static_cast<std::int64_t>(std::clamp(ms, -kLimit, kLimit))})};
  }

  std::shared_ptr<const Place> place_;
};

static_assert(SharesCooldowns<File>);

}  // namespace keyward::store
