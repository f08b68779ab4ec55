// Classifying the 2xx responses a gateway sees all day, in bytes per second of body: JSON bodies
// that are never read (an Anthropic message, an OpenAI embedding list) and event streams read in
// one pass (healthy, full of text about errors, or failing halfway). The baseline is one memchr
// over the same body: what looking at every byte once costs.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <string_view>

#include "classify/realistic_bodies.hpp"
#include "keyward/classify/anthropic.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/classify/openai.hpp"
#include "keyward/detail/url.hpp"

namespace keyward::bench {
namespace {

constexpr std::size_t kStreamSize = 14 << 10;

Response json_response(std::string body) {
  return Response{
      200,
      {{"content-type", "application/json"}, {"request-id", "req_011CSHoEeqs5C35K2UUqR7Fy"}},
      std::move(body)};
}

Response stream_response(std::string body) {
  return Response{200,
                  {{"content-type", "text/event-stream; charset=utf-8"},
                   {"request-id", "req_011CSHoEeqs5C35K2UUqR7Fy"}},
                  std::move(body)};
}

template <class C>
void classify_2xx(benchmark::State& state, const Response& response) {
  const C classifier;
  const ClassifyContext context{};
  for (auto _ : state) {
    auto verdict = classifier.classify(response, context);
    benchmark::DoNotOptimize(verdict);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(response.body.size()));
}

void BM_Classify_HttpStatus_AnthropicMessage_2xx(benchmark::State& state) {
  classify_2xx<classify::HttpStatus>(state, json_response(testing::anthropic_message()));
}
BENCHMARK(BM_Classify_HttpStatus_AnthropicMessage_2xx)->Threads(1)->Threads(2)->UseRealTime();

void BM_Classify_HttpStatus_OpenAIEmbedding_2xx(benchmark::State& state) {
  classify_2xx<classify::HttpStatus>(state, json_response(testing::openai_embedding()));
}
BENCHMARK(BM_Classify_HttpStatus_OpenAIEmbedding_2xx)->Threads(1)->Threads(2)->UseRealTime();

void BM_Classify_Anthropic_Message_2xx(benchmark::State& state) {
  classify_2xx<classify::Anthropic>(state, json_response(testing::anthropic_message()));
}
BENCHMARK(BM_Classify_Anthropic_Message_2xx)->Threads(1)->Threads(2)->UseRealTime();

void BM_Classify_OpenAI_Embedding_2xx(benchmark::State& state) {
  classify_2xx<classify::OpenAI>(state, json_response(testing::openai_embedding()));
}
BENCHMARK(BM_Classify_OpenAI_Embedding_2xx)->Threads(1)->Threads(2)->UseRealTime();

void BM_Classify_Anthropic_Stream_2xx(benchmark::State& state) {
  classify_2xx<classify::Anthropic>(state, stream_response(testing::anthropic_stream(kStreamSize)));
}
BENCHMARK(BM_Classify_Anthropic_Stream_2xx)->Threads(1)->Threads(2)->UseRealTime();

void BM_Classify_Anthropic_StreamTalkingOfErrors_2xx(benchmark::State& state) {
  classify_2xx<classify::Anthropic>(
      state, stream_response(testing::anthropic_stream(kStreamSize, testing::kErrorProse)));
}
BENCHMARK(BM_Classify_Anthropic_StreamTalkingOfErrors_2xx)->Threads(1)->Threads(2)->UseRealTime();

void BM_Classify_Anthropic_StreamFailingHalfway_2xx(benchmark::State& state) {
  classify_2xx<classify::Anthropic>(
      state, stream_response(testing::anthropic_stream(kStreamSize, testing::kProse,
                                                       testing::kAnthropicErrorEvent)));
}
BENCHMARK(BM_Classify_Anthropic_StreamFailingHalfway_2xx)->Threads(1)->Threads(2)->UseRealTime();

void BM_Classify_OpenAI_ChatStream_2xx(benchmark::State& state) {
  classify_2xx<classify::OpenAI>(state, stream_response(testing::openai_chat_stream(kStreamSize)));
}
BENCHMARK(BM_Classify_OpenAI_ChatStream_2xx)->Threads(1)->Threads(2)->UseRealTime();

void BM_Classify_OpenAI_ChatStreamTalkingOfErrors_2xx(benchmark::State& state) {
  classify_2xx<classify::OpenAI>(
      state, stream_response(testing::openai_chat_stream(kStreamSize, testing::kErrorProse)));
}
BENCHMARK(BM_Classify_OpenAI_ChatStreamTalkingOfErrors_2xx)->Threads(1)->Threads(2)->UseRealTime();

// The baseline: one memchr over the stream, for a byte it does not hold.
void BM_Classify_Baseline_MemchrStream_2xx(benchmark::State& state) {
  const std::string body = testing::anthropic_stream(kStreamSize);
  for (auto _ : state) {
    benchmark::DoNotOptimize(std::memchr(body.data(), '\x01', body.size()));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_Classify_Baseline_MemchrStream_2xx)->Threads(1)->Threads(2)->UseRealTime();

// The URL check on every send, for a short URL and one with a 4 KB query: the same cost.
void BM_Url_AllowsCredentials(benchmark::State& state) {
  std::string url = "https://api.anthropic.com/v1/messages";
  if (state.range(0) != 0) url.append("?q=").append(static_cast<std::size_t>(state.range(0)), 'a');
  for (auto _ : state) {
    std::string_view view = url;
    benchmark::DoNotOptimize(view);
    benchmark::DoNotOptimize(detail::url_allows_credentials(view, false));
  }
}
BENCHMARK(BM_Url_AllowsCredentials)->Arg(0)->Arg(4096)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace keyward::bench
