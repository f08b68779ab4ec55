// Child processes for the multi-process tests: start one, wait for it, and a redis-server of the
// test's own on 127.0.0.1.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#if __has_include(<hiredis/hiredis.h>)
#include <hiredis/hiredis.h>
#endif

extern char** environ;  // NOLINT: posix_spawn's environment

namespace keyward::testing {

/// A loopback port nothing listens on now (bound to port 0, then closed).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||          // NOLINT: POSIX API
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {  // NOLINT
    std::abort();
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

/// Starts `args` (searched on PATH) with this process's environment; -1 when it cannot start.
/// `quiet`: its standard error goes to /dev/null.
inline pid_t spawn(std::vector<std::string> args, bool quiet = false) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (quiet) ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int failed = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  return failed != 0 ? -1 : pid;
}

/// Waits for `pid`: its exit code, or 128 + the signal that ended it.
inline int wait_exit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#if __has_include(<hiredis/hiredis.h>)
/// A redis-server on 127.0.0.1 with nothing saved to disk; stopped by the destructor.
class RedisServer {
 public:
  RedisServer() : port_(free_port()) {}
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() { stop(); }

  /// Starts it and waits up to 3 s until it answers; false when it did not.
  bool start() {
    pid_ = spawn({"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save",
                  "", "--appendonly", "no", "--loglevel", "warning"});
    if (pid_ <= 0) return false;
    for (int i = 0; i < 300; ++i) {
      if (command("PING")) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    return false;
  }
  /// Stops it (SIGKILL: it loses everything, as a crashed server without persistence does).
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    wait_exit(pid_);
    pid_ = -1;
  }
  /// Runs one command; false when the server did not answer or answered an error.
  bool command(const char* text) const {
    redisContext* c = redisConnect("127.0.0.1", port_);
    bool ok = false;
    if (c != nullptr && c->err == 0) {
      auto* reply = static_cast<redisReply*>(redisCommand(c, text));
      ok = reply != nullptr && reply->type != REDIS_REPLY_ERROR;
      if (reply != nullptr) freeReplyObject(reply);
    }
    if (c != nullptr) redisFree(c);
    return ok;
  }
  [[nodiscard]] int port() const { return port_; }

 private:
  int port_;
  pid_t pid_ = -1;
};
#endif

}  // namespace keyward::testing
