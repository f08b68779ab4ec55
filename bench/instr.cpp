// A fixed number of operations of each case, for instruction counts under valgrind's callgrind
// (repeatable where wall-clock time on a shared machine is not). bench/run runs each case at its
// operation count and at twice that, and divides the difference by the count, so start-up and
// set-up cancel out.
//
//   keyward_instr --list      one line per case: name, operation count, body bytes per operation
//   keyward_instr CASE N      runs N operations of CASE
#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "designs.hpp"
#include "keyward/classify/anthropic.hpp"

namespace keyward::bench {
namespace {

template <class Design>
void acquire(long n) {
  const Design design;
  std::string header;
  design.read(header);
  for (long i = 0; i < n; ++i) design.read(header);
}

// Reads credential i % N of N, as a pool handing requests out in turn does.
template <std::size_t N>
void in_turn(long n) {
  std::vector<std::unique_ptr<KeywardDesign>> pool;
  for (std::size_t i = 0; i < N; ++i) pool.push_back(std::make_unique<KeywardDesign>());
  std::string header;
  for (const auto& design : pool) design->read(header);
  std::size_t at = 0;
  for (long i = 0; i < n; ++i) {
    pool[at]->read(header);
    if (++at == N) at = 0;
  }
}

// The careful client without keyward: the header built once per token, copied into each request.
template <std::size_t Body>
void send_direct(long n) {
  const NullTransport transport{&canned_responses()[Body]};
  const std::string cached = "Bearer " + token_for(0);
  for (long i = 0; i < n; ++i) {
    Request request = post_request();
    request.headers.set("authorization", cached);
    auto response = transport.send(request);
    benchmark::DoNotOptimize(response);
  }
}

// The careful client with keyward: the request passed by reference and used in place.
template <std::size_t Body>
void send_keyward(long n) {
  ResilientCredential<NullTransport> credential{NullTransport{&canned_responses()[Body]},
                                                Credential::api_key(token_for(0))};
  for (long i = 0; i < n; ++i) {
    Request request = post_request();
    auto response = credential.send(request);
    benchmark::DoNotOptimize(response);
  }
}

// The same send through a pool of `Profiles` API keys choosing by `S`.
template <std::size_t Profiles, Selection S>
void send_pool(long n) {
  const auto pool = make_send_pool(Profiles, S, &canned_responses()[0]);
  for (long i = 0; i < n; ++i) {
    Request request = post_request();
    auto response = pool->send(request);
    benchmark::DoNotOptimize(response);
  }
}

// Anthropic's classifier on a healthy 200 stream: it scans every event for an error.
void classify_stream(long n) {
  const Canned& stream = canned_responses()[3];
  Response response{.status = 200, .body = stream.body};
  response.headers.add("content-type", stream.content_type);
  const classify::Anthropic classifier;
  const ClassifyContext context{.endpoint = Endpoint::api, .credential = CredentialKind::api_key};
  for (long i = 0; i < n; ++i) {
    auto verdict = classifier.classify(response, context);
    benchmark::DoNotOptimize(verdict);
  }
}

// The baseline of the stream classification: one memchr over the same stream, for a byte it
// does not hold (glibc's vector loop: what looking at every byte once costs).
void memchr_stream(long n) {
  const std::string& body = canned_responses()[3].body;
  for (long i = 0; i < n; ++i) {
    const void* found = std::memchr(body.data(), '\x01', body.size());
    benchmark::DoNotOptimize(found);
  }
}

struct Case {
  std::string_view name;
  long ops;           // ten million instructions or more, at today's costs
  std::size_t bytes;  // response body bytes per operation, 0 when there is none
  void (*run)(long);
};

const std::array<Case, 22>& cases() {
  static const std::array<Case, 22> all{{
      {"floor", 100000, 0, acquire<FloorDesign>},
      {"acquire", 100000, 0, acquire<KeywardDesign>},
      {"in_turn_1", 100000, 0, in_turn<1>},
      {"in_turn_1000", 30000, 0, in_turn<1000>},
      {"send_direct_empty", 5000, 0, send_direct<0>},
      {"send_keyward_empty", 5000, 0, send_keyward<0>},
      {"send_direct_message", 5000, canned_responses()[1].body.size(), send_direct<1>},
      {"send_keyward_message", 500, canned_responses()[1].body.size(), send_keyward<1>},
      {"send_direct_embeddings", 5000, canned_responses()[2].body.size(), send_direct<2>},
      {"send_keyward_embeddings", 100, canned_responses()[2].body.size(), send_keyward<2>},
      {"send_direct_stream", 5000, canned_responses()[3].body.size(), send_direct<3>},
      {"send_keyward_stream", 5000, canned_responses()[3].body.size(), send_keyward<3>},
      {"classify_stream", 3000, canned_responses()[3].body.size(), classify_stream},
      {"memchr_stream", 20000, canned_responses()[3].body.size(), memchr_stream},
      {"send_pool_1_priority", 5000, 0, send_pool<1, Selection::priority>},
      {"send_pool_128_priority", 5000, 0, send_pool<128, Selection::priority>},
      {"send_pool_1_round_robin", 5000, 0, send_pool<1, Selection::round_robin>},
      {"send_pool_128_round_robin", 5000, 0, send_pool<128, Selection::round_robin>},
      {"send_pool_1_least_recently_used", 5000, 0, send_pool<1, Selection::least_recently_used>},
      {"send_pool_128_least_recently_used", 5000, 0,
       send_pool<128, Selection::least_recently_used>},
      {"send_pool_1_weighted", 5000, 0, send_pool<1, Selection::weighted>},
      {"send_pool_128_weighted", 5000, 0, send_pool<128, Selection::weighted>},
  }};
  return all;
}

}  // namespace
}  // namespace keyward::bench

int main(int argc, char** argv) {
  using keyward::bench::cases;
  const std::string_view first = argc > 1 ? argv[1] : "";
  if (argc == 2 && first == "--list") {
    for (const auto& c : cases()) {
      std::printf("%.*s %ld %zu\n", static_cast<int>(c.name.size()), c.name.data(), c.ops, c.bytes);
    }
    return 0;
  }
  if (argc == 3) {
    const long n = std::strtol(argv[2], nullptr, 10);
    for (const auto& c : cases()) {
      if (c.name != first) continue;
      c.run(n);
      return 0;
    }
  }
  std::fprintf(stderr, "usage: keyward_instr --list | keyward_instr CASE N\n");
  return 2;
}
