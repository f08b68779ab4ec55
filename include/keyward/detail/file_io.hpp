// POSIX file helpers for the file store: whole-file reads, crash-safe replacement, the real path
// of a file reached through symlinks, open-file-description byte-range locks, and the seed
// system's lock at `<file>.lock`.
//
// A replacement is written to a new file in the same folder (mode 0600), fsynced, renamed over
// the old one and the folder fsynced, so a reader sees the old file or the new one, never a part,
// and a crash after rename() returns cannot lose the new one. Locks are Linux open-file-
// description locks (F_OFD_SETLK): owned by the open file, not the process, so two opens in one
// process exclude each other as two processes do, and the kernel releases them when their holder
// dies. A lock file is opened without following a symlink and must be a regular file of this
// user with no group or other permission bits: anyone else who could open it could hold it and
// stop every write. Failures come back as Errors naming the path and the system's reason.
//
// Why this header is over 300 lines: every part is the file store's one use of POSIX files and
// they share the descriptor and error helpers; the seed lock is next to split out (to
// detail/seed_lock.hpp) if it grows.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "keyward/detail/json.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/detail/wait_formats.hpp"
#include "keyward/detail/wipe.hpp"
#include "keyward/error.hpp"
#include "keyward/result.hpp"

namespace keyward::detail {

/// Wipes a string when the scope ends.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& text) noexcept : text_(text) {}
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;
  ~WipeOnExit() { wipe(text_); }

 private:
  std::string& text_;
};

/// An open file descriptor, closed when destroyed.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { close(); }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool open() const noexcept { return fd_ >= 0; }

 private:
  void close() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
};

/// An Error for a failed system call on `path`.
[[nodiscard]] inline Error file_error(Errc code, std::string_view what, std::string_view path,
                                      int error_number) {
  return make_error(code, std::string{what} + " " + std::string{path} + ": " +
                              std::generic_category().message(error_number));
}

/// The whole file, or nothing when it does not exist; an Error when it cannot be read or is
/// larger than `max_size` bytes.
[[nodiscard]] inline Result<std::optional<std::string>> read_file(const std::string& path,
                                                                  std::size_t max_size) {
  const FileDescriptor fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd.open()) {
    if (errno == ENOENT) return std::optional<std::string>{};
    return unexpected(file_error(Errc::store_unavailable, "cannot open", path, errno));
  }
  std::string text;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      wipe(text);
      return unexpected(file_error(Errc::store_unavailable, "cannot read", path, errno));
    }
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > max_size) {
      wipe(text);
      return unexpected(
          make_error(Errc::store_unavailable, path + " is larger than " + std::to_string(max_size) +
                                                  " bytes, so it is not a credentials file"));
    }
    text.append(buffer.data(), static_cast<std::size_t>(n));
  }
  volatile char* p = buffer.data();
  for (std::size_t i = 0; i < buffer.size(); ++i) p[i] = 0;
  return std::optional<std::string>{std::move(text)};
}

namespace file_io_internal {

inline bool write_all(int fd, std::string_view bytes) noexcept {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

inline std::string folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

inline std::string name_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

inline std::optional<std::string> realpath_of(const std::string& path) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return std::nullopt;
  std::string out{resolved};
  std::free(resolved);  // NOLINT(cppcoreguidelines-no-malloc): realpath's own allocation
  return out;
}

}  // namespace file_io_internal

/// The real path of `path`: every symlink resolved, of the file itself or, when the file does not
/// exist yet (or is a link to a file that does not), of the folder it will be created in, with
/// the name the link points at. `path` as given when even its folder cannot be resolved (the
/// first write then reports what is wrong).
[[nodiscard]] inline std::string real_path(std::string path) {
  using namespace file_io_internal;
  for (int links = 0; links < 40; ++links) {  // 40: the kernel's own limit (MAXSYMLINKS)
    if (auto resolved = realpath_of(path)) return *resolved;
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0 || !S_ISLNK(info.st_mode)) break;
    // A link to a file that does not exist yet: follow it by hand, to where it will be created.
    std::array<char, PATH_MAX> target{};
    const ssize_t n = ::readlink(path.c_str(), target.data(), target.size() - 1);
    if (n <= 0) break;
    std::string next{target.data(), static_cast<std::size_t>(n)};
    if (next.front() != '/') next = folder_of(path).append("/").append(next);
    path = std::move(next);
  }
  if (auto folder = realpath_of(folder_of(path))) {
    return (*folder == "/" ? std::string{} : *folder) + "/" + name_of(path);
  }
  return path;
}

/// What a file is now (which file, its size and last change), to tell whether it was written
/// between two looks; `exists` false when there is none.
struct FileStamp {
  bool exists = false;  ///< There is a file.
  dev_t device = 0;     ///< Its device.
  ino_t inode = 0;      ///< Its inode (a rename puts another there).
  off_t size = 0;       ///< Its size.
  timespec modified{};  ///< Its last data change.
  timespec changed{};   ///< Its last data or metadata change.

  /// The stamp of `path` now.
  [[nodiscard]] static FileStamp of(const std::string& path) {
    FileStamp stamp;
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return stamp;
    stamp.exists = true;
    stamp.device = info.st_dev;
    stamp.inode = info.st_ino;
    stamp.size = info.st_size;
    stamp.modified = info.st_mtim;
    stamp.changed = info.st_ctim;
    return stamp;
  }
  /// True when both stamps describe the file unchanged.
  [[nodiscard]] bool same_as(const FileStamp& other) const noexcept {
    const auto same = [](const timespec& a, const timespec& b) {
      return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
    };
    return exists == other.exists &&
           (!exists || (device == other.device && inode == other.inode && size == other.size &&
                        same(modified, other.modified) && same(changed, other.changed)));
  }
};

/// Checks nothing: replace_file()'s default last look before its rename.
struct NoCheck {
  /// Always ready.
  Result<void> operator()() const { return {}; }
};

/// Replaces `path` with `bytes` (mode 0600): a new file in the same folder, fsynced, renamed over
/// the old one, and the folder fsynced. `ready` is called just before the rename: an Error from
/// it leaves the old file in place and is returned. On failure the old file is unchanged.
template <class Ready = NoCheck>
[[nodiscard]] Result<void> replace_file(const std::string& path, std::string_view bytes,
                                        Ready&& ready = {}) {
  using namespace file_io_internal;
  std::string temporary =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
  FileDescriptor fd{::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (!fd.open()) {
    return unexpected(file_error(Errc::persist_failed, "cannot create", temporary, errno));
  }
  const auto give_up = [&](std::string_view what) {
    const int error_number = errno;
    ::unlink(temporary.c_str());
    return unexpected(file_error(Errc::persist_failed, what, temporary, error_number));
  };
  if (::fchmod(fd.get(), 0600) != 0) return give_up("cannot set mode 0600 on");
  if (!write_all(fd.get(), bytes)) return give_up("cannot write");
  if (::fsync(fd.get()) != 0) return give_up("cannot fsync");
  if (auto checked = ready(); !checked) {
    ::unlink(temporary.c_str());
    return checked;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) return give_up("cannot rename");
  const std::string folder = folder_of(path);
  const FileDescriptor dir{::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!dir.open() || ::fsync(dir.get()) != 0) {
    return unexpected(file_error(Errc::persist_failed,
                                 "the new file is in place but cannot fsync its folder", folder,
                                 errno));
  }
  return {};
}

/// A lock on one byte of a lock file (an open-file-description lock): exclusive among all opens
/// of the file, in this process and others; released when unlocked, destroyed, or its process
/// dies.
class ByteLock {
 public:
  ByteLock() = default;
  ByteLock(ByteLock&& other) noexcept = default;
  ByteLock& operator=(ByteLock&& other) noexcept = default;  // closing the old one releases it
  ByteLock(const ByteLock&) = delete;
  ByteLock& operator=(const ByteLock&) = delete;
  ~ByteLock() = default;  // closing the descriptor releases the lock

  /// Locks byte `offset` of `path` (created with mode 0600 if missing), waiting up to `wait`;
  /// nothing held when the wait ran out, an Error when the file cannot be opened or locked, or
  /// when it is a symlink, not a regular file, not this user's, or open to group or others.
  [[nodiscard]] static Result<ByteLock> acquire(const std::string& path, std::uint64_t offset,
                                                std::chrono::milliseconds wait) {
    ByteLock lock;
    lock.fd_ = FileDescriptor{
        ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600)};
    if (!lock.fd_.open()) {
      if (errno == ELOOP) {
        return unexpected(make_error(
            Errc::store_unavailable,
            "the lock file " + path +
                " is a symbolic link; keyward never follows one there (another user may have "
                "planted it), so nothing was written: remove the link"));
      }
      return unexpected(
          file_error(Errc::store_unavailable, "cannot open the lock file", path, errno));
    }
    if (auto refused = check_lock_file(lock.fd_.get(), path)) return unexpected(*refused);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    auto pause = std::chrono::milliseconds{1};
    for (;;) {
      struct flock request {};
      request.l_type = F_WRLCK;
      request.l_whence = SEEK_SET;
      request.l_start = static_cast<off_t>(offset);
      request.l_len = 1;
      if (::fcntl(lock.fd_.get(), F_OFD_SETLK, &request) == 0) return lock;
      if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
        return unexpected(file_error(Errc::store_unavailable, "cannot lock", path, errno));
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return ByteLock{};
      // The holder is another open file, maybe another process: nothing to wait on but time.
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
      pause = std::min(pause * 2, std::chrono::milliseconds{20});
    }
  }

  /// True when the lock is held.
  [[nodiscard]] bool held() const noexcept { return fd_.open(); }

 private:
  // Why the open lock file cannot be trusted, or nothing when it can: a regular file of this
  // user with no group or other permission bits.
  static std::optional<Error> check_lock_file(int fd, const std::string& path) {
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
      return file_error(Errc::store_unavailable, "cannot check the lock file", path, errno);
    }
    const auto refuse = [&](const std::string& what) {
      return make_error(Errc::store_unavailable,
                        "the lock file " + path + " " + what + ", so nothing was written");
    };
    if (!S_ISREG(info.st_mode)) return refuse("is not a regular file");
    if (info.st_uid != ::geteuid()) {
      return refuse("is owned by uid " + std::to_string(info.st_uid) + ", not by this user (uid " +
                    std::to_string(::geteuid()) + "); remove it");
    }
    if ((info.st_mode & 077) != 0) {
      std::array<char, 8> mode{};
      std::snprintf(mode.data(), mode.size(), "%04o", static_cast<unsigned>(info.st_mode & 07777));
      return refuse("has mode " + std::string{mode.data()} +
                    "; it must be mode 0600 (anyone else who can open it can hold it and stop "
                    "every write): chmod 600 it");
    }
    return std::nullopt;
  }

  FileDescriptor fd_;
};

/// What holds the seed system's lock at `lock_path` (OpenClaw's `<file>.lock`) now, or nothing
/// when it is not held. Held: a directory (npm proper-lockfile, OpenClaw until 2026-02-13), or a
/// regular file holding OpenClaw's `{"pid": N, "createdAt": ...}` (its own lock from
/// 2026-02-13) whose process is alive and whose `createdAt` (RFC 3339, or milliseconds since
/// 1970) is less than `stale` before `now`. Anything else there (nothing, an empty or unrelated
/// file, a link) is not a lock. Reads it only; never changes or removes it.
[[nodiscard]] inline std::optional<std::string> seed_lock_holder(
    const std::string& lock_path, std::chrono::system_clock::time_point now,
    std::chrono::milliseconds stale) {
  struct stat info {};
  if (::lstat(lock_path.c_str(), &info) != 0) return std::nullopt;
  if (S_ISDIR(info.st_mode)) return "a proper-lockfile lock directory (OpenClaw before 2026-02-13)";
  if (!S_ISREG(info.st_mode) || info.st_size == 0 || info.st_size > 4096) return std::nullopt;
  const FileDescriptor fd{
      ::open(lock_path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  if (!fd.open()) return std::nullopt;
  std::array<char, 4096> buffer{};
  const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
  if (n <= 0) return std::nullopt;
  const auto payload =
      json::parse(std::string_view{buffer.data(), static_cast<std::size_t>(n)}, {.max_depth = 4});
  if (!payload || !payload->is_object()) return std::nullopt;
  const json::Value* pid_member = payload->find("pid");
  const json::Value* created_member = payload->find("createdAt");
  const std::optional<std::uint64_t> pid =
      pid_member != nullptr ? pid_member->as_uint64() : std::nullopt;
  if (!pid || *pid == 0 || *pid > 0x7fffffff || created_member == nullptr) return std::nullopt;
  std::optional<std::chrono::sys_time<std::chrono::milliseconds>> created;
  if (const std::string* text = created_member->as_string()) created = parse_rfc3339(*text);
  if (const auto ms = created_member->as_uint64()) {
    created = std::chrono::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{
        static_cast<std::int64_t>(std::min<std::uint64_t>(*ms, 1ULL << 52))}};
  }
  if (!created || now - *created >= stale) return std::nullopt;
  if (::kill(static_cast<pid_t>(*pid), 0) != 0 && errno != EPERM) return std::nullopt;  // dead
  return "OpenClaw's lock file (pid " + std::to_string(*pid) + ", created " +
         format_rfc3339(
             std::chrono::time_point_cast<std::chrono::system_clock::duration>(*created)) +
         ")";
}

}  // namespace keyward::detail
