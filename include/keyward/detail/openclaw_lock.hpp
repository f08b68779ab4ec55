// OpenClaw's per-profile OAuth refresh lock, taken the way OpenClaw takes it (docs/openclaw.md):
//
//   - the file is `<stateDir>/locks/oauth-refresh/lock-<digest>.lock`, the digest being two
//     64-bit FNV-1a variants over the UTF-8 of the JSON text `[provider, profileId]`;
//   - it is created with O_CREAT | O_EXCL, mode 0600, and holds the JSON payload
//     `{"pid", "createdAt", "starttime"}` (pretty-printed) and an ownership line;
//   - a lock whose pid is alive (and, when recorded, has the same start time) is never reclaimed,
//     however old; one whose process is gone, or without a pid and older than 180 s, is removed
//     if it is unchanged since it was read, and the lock taken;
//   - releasing removes the file only while it is still the one this holder created.
// Linux only (/proc for process start times).
//
// Why this header is over 300 lines: it is one protocol (path and digest, the JS-exact JSON of
// the payload, liveness and staleness, take and release) that must match OpenClaw byte for byte;
// split, the byte-level rules would sit apart from the one piece that depends on them.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "keyward/detail/file_io.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/wait_formats.hpp"
#include "keyward/error.hpp"
#include "keyward/result.hpp"

namespace keyward::detail::openclaw {

/// `text` as JavaScript's JSON.stringify writes a string (quotes included): `"` and `\` escaped,
/// \b \f \n \r \t, other control characters as \u00xx, everything else as is.
inline void append_js_json_string(std::string& out, std::string_view text) {
  constexpr std::string_view kHex = "0123456789abcdef";
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (byte < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[byte >> 4U]);
          out.push_back(kHex[byte & 0xFU]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

/// OpenClaw's lock-path digest of `value`: 32 lowercase hex digits.
[[nodiscard]] inline std::string lock_digest(std::string_view value) {
  std::uint64_t left = 14695981039346656037ULL;
  std::uint64_t right = 11160318154034397263ULL;
  constexpr std::uint64_t kPrime = 1099511628211ULL;
  for (const char c : value) {
    const auto octet = static_cast<std::uint64_t>(static_cast<unsigned char>(c));
    left = (left ^ octet) * kPrime;
    right = (right ^ (octet + 11400714819323198485ULL)) * kPrime;
  }
  std::array<char, 40> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%016llx%016llx",
                static_cast<unsigned long long>(left), static_cast<unsigned long long>(right));
  return buffer.data();
}

/// The refresh lock file of `profile` of `provider` under OpenClaw state directory `state_dir`.
[[nodiscard]] inline std::string refresh_lock_path(std::string_view state_dir,
                                                   std::string_view provider,
                                                   std::string_view profile) {
  std::string tuple = "[";
  append_js_json_string(tuple, provider);
  tuple.push_back(',');
  append_js_json_string(tuple, profile);
  tuple.push_back(']');
  return std::string{state_dir} + "/locks/oauth-refresh/lock-" + lock_digest(tuple) + ".lock";
}

/// The start time of process `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), as
/// OpenClaw records it; nothing when it cannot be read.
[[nodiscard]] inline std::optional<std::uint64_t> process_start_time(long pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string stat = buffer.str();
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields{stat.substr(close + 1)};
  std::string field;
  for (int i = 0; i <= 19 && (fields >> field); ++i) {
    if (i == 19) {
      if (field.empty() || field.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
      }
      return std::stoull(field);
    }
  }
  return std::nullopt;
}

/// True when process `pid` is gone (or a zombie), as OpenClaw decides it.
[[nodiscard]] inline bool process_definitely_dead(long pid) {
  if (pid <= 0 || pid > 0x7fffffff) return true;
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return errno == ESRCH;
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  bool zombie = false;
  bool one_thread = false;
  while (std::getline(in, line)) {
    if (line.rfind("State:", 0) == 0) zombie = line.find('Z') != std::string::npos;
    if (line.rfind("Threads:", 0) == 0) {
      std::istringstream count{line.substr(8)};
      long threads = 0;
      count >> threads;
      one_thread = threads == 1;
    }
  }
  return zombie && one_thread;
}

/// What a lock file's payload says about its holder.
struct Holder {
  std::optional<long> pid;                 ///< `pid`, when a positive integer.
  std::optional<std::uint64_t> starttime;  ///< `starttime`, when recorded.
  std::string created_at;                  ///< `createdAt` as written.
};

/// The holder named by a lock file's text (JSON, then OpenClaw's whitespace ownership line).
[[nodiscard]] inline Holder holder_of(std::string_view text) {
  Holder holder;
  const auto payload = json::parse(text, {.max_depth = 8, .max_size = std::size_t{1} << 20});
  if (!payload || !payload->is_object()) return holder;
  if (const auto* pid = payload->find("pid")) {
    if (const auto value = pid->as_uint64(); value && *value > 0 && *value <= 0x7fffffff) {
      holder.pid = static_cast<long>(*value);
    }
  }
  if (const auto* start = payload->find("starttime")) holder.starttime = start->as_uint64();
  holder.created_at = std::string{payload->string_or("createdAt")};
  return holder;
}

/// True when OpenClaw would reclaim a lock held by `holder` at `now`: its process is gone or
/// another process has its pid (start time changed); without a pid, `createdAt` is unreadable
/// or older than `stale`.
[[nodiscard]] inline bool reclaimable(const Holder& holder,
                                      std::chrono::system_clock::time_point now,
                                      std::chrono::milliseconds stale) {
  if (holder.pid) {
    if (holder.starttime) {
      const auto observed = process_start_time(*holder.pid);
      if (observed && *observed != *holder.starttime) return true;
    }
    return process_definitely_dead(*holder.pid);
  }
  if (holder.created_at.empty()) return false;
  const auto created = parse_rfc3339(holder.created_at);
  return !created || now - *created > stale;
}

/// `time` as JavaScript's Date.prototype.toISOString writes it: 2026-12-06T21:30:15.123Z.
[[nodiscard]] inline std::string iso_time(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  std::array<char, 40> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buffer.data();
}

/// The lock file's content for this process: OpenClaw's payload and ownership line.
[[nodiscard]] inline std::string own_payload(std::chrono::system_clock::time_point now) {
  const long pid = ::getpid();
  std::string out =
      "{\n  \"pid\": " + std::to_string(pid) + ",\n  \"createdAt\": \"" + iso_time(now) + "\"";
  if (const auto start = process_start_time(pid)) {
    out += ",\n  \"starttime\": " + std::to_string(*start);
  }
  out += "\n}\n";
  // Eight tabs, then 128 tabs or spaces: the bits of 16 random bytes.
  out.append(8, '\t');
  std::random_device random;
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t bits = random();
    for (int bit = 31; bit >= 0; --bit) out.push_back(((bits >> bit) & 1U) != 0 ? '\t' : ' ');
  }
  out.push_back('\n');
  return out;
}

/// OpenClaw's refresh lock on one profile, held until released or destroyed.
class RefreshLock {
 public:
  RefreshLock() = default;
  RefreshLock(RefreshLock&& other) noexcept
      : path_(std::move(other.path_)), inode_(std::exchange(other.inode_, 0)) {}
  RefreshLock& operator=(RefreshLock&& other) noexcept {
    if (this != &other) {
      release();
      path_ = std::move(other.path_);
      inode_ = std::exchange(other.inode_, 0);
    }
    return *this;
  }
  RefreshLock(const RefreshLock&) = delete;
  RefreshLock& operator=(const RefreshLock&) = delete;
  ~RefreshLock() { release(); }

  /// Takes the lock at `path`, waiting up to `wait` for its holder. Not held when the wait ran
  /// out (`holder` then describes who holds it); an Error when the lock cannot be created.
  [[nodiscard]] static Result<RefreshLock> acquire(const std::string& path,
                                                   std::chrono::milliseconds wait,
                                                   std::string* holder = nullptr) {
    constexpr std::chrono::milliseconds kStale{180'000};  // OpenClaw's OAUTH_REFRESH_LOCK_OPTIONS
    const auto folder = path.substr(0, path.rfind('/'));
    if (auto made = make_folders(folder); !made) return unexpected(made.error());
    const auto deadline = std::chrono::steady_clock::now() + wait;
    auto pause = std::chrono::milliseconds{2};
    for (;;) {
      const FileDescriptor fd{
          ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
      if (fd.open()) {
        const std::string payload = own_payload(std::chrono::system_clock::now());
        struct stat info {};
        if (!file_io_internal::write_all(fd.get(), payload) || ::fstat(fd.get(), &info) != 0) {
          const int error_number = errno;
          ::unlink(path.c_str());
          return unexpected(file_error(Errc::store_unavailable, "cannot write OpenClaw's lock",
                                       path, error_number));
        }
        RefreshLock lock;
        lock.path_ = path;
        lock.inode_ = info.st_ino;
        return lock;
      }
      if (errno != EEXIST) {
        return unexpected(
            file_error(Errc::store_unavailable, "cannot create OpenClaw's lock", path, errno));
      }
      const auto seen = read_lock(path);
      if (seen && reclaimable(holder_of(seen->text), std::chrono::system_clock::now(), kStale)) {
        remove_if_unchanged(path, *seen);
        continue;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        if (holder != nullptr) *holder = describe(seen ? holder_of(seen->text) : Holder{});
        return RefreshLock{};
      }
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
      pause = std::min(pause * 2, std::chrono::milliseconds{50});
    }
  }

  /// True while held.
  [[nodiscard]] bool held() const noexcept { return inode_ != 0; }

  /// Removes the lock file if it is still the one this holder created; idempotent.
  void release() noexcept {
    if (inode_ == 0) return;
    struct stat info {};
    if (::lstat(path_.c_str(), &info) == 0 && info.st_ino == inode_) ::unlink(path_.c_str());
    inode_ = 0;
  }

 private:
  struct Seen {
    std::string text;
    ino_t inode = 0;
  };

  static Result<void> make_folders(const std::string& folder) {
    for (std::size_t at = 1; at <= folder.size(); ++at) {
      if (at != folder.size() && folder[at] != '/') continue;
      const std::string part = folder.substr(0, at);
      if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
        return unexpected(file_error(Errc::store_unavailable, "cannot create", part, errno));
      }
    }
    return {};
  }

  static std::optional<Seen> read_lock(const std::string& path) {
    const FileDescriptor fd{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
    if (!fd.open()) return std::nullopt;
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
    Seen seen;
    seen.inode = info.st_ino;
    std::array<char, 4096> buffer{};
    for (;;) {
      const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      seen.text.append(buffer.data(), static_cast<std::size_t>(n));
      if (seen.text.size() > (std::size_t{1} << 20)) return std::nullopt;
    }
    return seen;
  }

  // Removes a stale lock only if it is still the file that was judged (same inode, same text).
  static void remove_if_unchanged(const std::string& path, const Seen& seen) {
    const auto again = read_lock(path);
    if (again && again->inode == seen.inode && again->text == seen.text) ::unlink(path.c_str());
  }

  static std::string describe(const Holder& holder) {
    if (!holder.pid) return "a holder without a pid";
    return "pid " + std::to_string(*holder.pid) +
           (holder.created_at.empty() ? std::string{} : ", created " + holder.created_at);
  }

  std::string path_;
  ino_t inode_ = 0;
};

}  // namespace keyward::detail::openclaw
