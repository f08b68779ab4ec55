// keyward_bench_server: the loopback HTTP server of the asynchronous send benchmark
// (bench/async_bench.cpp), in a process of its own, since callgrind counts every thread of the
// process it runs. It answers every request with the Anthropic message of bench/bodies.hpp
// (about 2.3 KB of JSON) and keeps the connection alive. The whole response goes out in one
// write, so that a client reads it in one go every time: its instruction and allocation counts
// then do not depend on how the server's writes were split. It prints its port (on 127.0.0.1)
// on its first line and serves until it is killed; a thread per connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "bodies.hpp"

namespace {

// The body length a request's head declares (0 when none).
std::size_t content_length(std::string_view head) {
  constexpr std::string_view kName = "\r\ncontent-length:";
  for (std::size_t at = 0; at + kName.size() <= head.size(); ++at) {
    std::size_t i = 0;
    while (i < kName.size() && std::tolower(static_cast<unsigned char>(head[at + i])) == kName[i]) {
      ++i;
    }
    if (i == kName.size()) return std::strtoul(head.data() + at + i, nullptr, 10);
  }
  return 0;
}

void serve(int connection, const std::string& response) {
  std::string received;
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::recv(connection, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    received.append(buffer, static_cast<std::size_t>(got));
    for (;;) {
      const std::size_t head_end = received.find("\r\n\r\n");
      if (head_end == std::string::npos) break;
      const std::size_t whole = head_end + 4 + content_length({received.data(), head_end});
      if (received.size() < whole) break;
      received.erase(0, whole);
      if (::send(connection, response.data(), response.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(response.size())) {
        ::close(connection);
        return;
      }
    }
  }
  ::close(connection);
}

}  // namespace

int main() {
  const keyward::bench::Canned& message = keyward::bench::canned_responses()[1];
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: " + message.content_type +
                               "\r\nContent-Length: " + std::to_string(message.body.size()) +
                               "\r\nConnection: keep-alive\r\n\r\n" + message.body;
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, 16) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("keyward_bench_server");
    return 1;
  }
  std::printf("%d\n", ntohs(address.sin_port));
  std::fflush(stdout);
  for (;;) {
    const int connection = ::accept(listener, nullptr, nullptr);
    if (connection < 0) continue;
    const int on = 1;
    ::setsockopt(connection, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    std::thread{serve, connection, std::cref(response)}.detach();
  }
}
