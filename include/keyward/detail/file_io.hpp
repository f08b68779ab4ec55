// POSIX file helpers for the file store: whole-file reads, crash-safe replacement, and
// open-file-description byte-range locks.
//
// A replacement is written to a new file in the same folder (mode 0600), fsynced, renamed over
// the old one and the folder fsynced, so a reader sees the old file or the new one, never a part,
// and a crash after rename() returns cannot lose the new one. Locks are Linux open-file-
// description locks (F_OFD_SETLK): owned by the open file, not the process, so two opens in one
// process exclude each other as two processes do, and the kernel releases them when their holder
// dies. Failures come back as Errors naming the path and the system's reason.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

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

}  // namespace file_io_internal

/// Replaces `path` with `bytes` (mode 0600): a new file in the same folder, fsynced, renamed over
/// the old one, and the folder fsynced. On failure the old file is unchanged.
[[nodiscard]] inline Result<void> replace_file(const std::string& path, std::string_view bytes) {
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
  /// nothing held when the wait ran out, an Error when the file cannot be opened or locked.
  [[nodiscard]] static Result<ByteLock> acquire(const std::string& path, std::uint64_t offset,
                                                std::chrono::milliseconds wait) {
    ByteLock lock;
    lock.fd_ = FileDescriptor{::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
    if (!lock.fd_.open()) {
      return unexpected(file_error(Errc::store_unavailable, "cannot open", path, errno));
    }
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
  FileDescriptor fd_;
};

}  // namespace keyward::detail
