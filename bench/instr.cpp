// A fixed number of hot-path operations, for instruction counts under valgrind's callgrind
// (repeatable where wall-clock time on a shared machine is not). bench/run runs each case at two
// counts and divides the difference, so set-up costs cancel out.
//
//   keyward_instr floor|acquire|send_direct|send_keyward N
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "designs.hpp"

int main(int argc, char** argv) {
  using namespace keyward::bench;
  if (argc != 3) {
    std::fprintf(stderr, "usage: keyward_instr floor|acquire|send_direct|send_keyward N\n");
    return 2;
  }
  const std::string_view which = argv[1];
  const long n = std::strtol(argv[2], nullptr, 10);
  if (which == "floor") {
    const FloorDesign floor;
    for (long i = 0; i < n; ++i) floor.read();
  } else if (which == "acquire") {
    const KeywardDesign keyward;
    for (long i = 0; i < n; ++i) keyward.read();
  } else if (which == "send_direct" || which == "send_keyward") {
    const NullTransport transport;
    KeywardDesign keyward;
    for (long i = 0; i < n; ++i) {
      if (which == "send_direct") {
        keyward::Request request{.method = "POST", .url = "https://api.anthropic.com/v1/messages"};
        request.headers.set("authorization", "Bearer " + token_for(0));
        auto response = transport.send(request);
        benchmark::DoNotOptimize(response);
      } else {
        auto response = keyward.credential().send(
            {.method = "POST", .url = "https://api.anthropic.com/v1/messages"});
        benchmark::DoNotOptimize(response);
      }
    }
  } else {
    std::fprintf(stderr, "unknown case '%.*s'\n", static_cast<int>(which.size()), which.data());
    return 2;
  }
  return 0;
}
