// Success bodies shaped like the ones providers send, for the tests and benchmarks of the 2xx
// path: an Anthropic message (~2.3 KB), an OpenAI embedding list (~14 KB), and Anthropic and
// OpenAI event streams of a given size, whose text deltas may mention errors the way model output
// about code does. Every body is built deterministically, so instruction counts repeat.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace keyward::testing {

/// Prose as a model writes it.
inline constexpr std::string_view kProse =
    "The river town grew up around a ford that travellers used for centuries before the first "
    "bridge was built. Its market square still holds the old stone cross, and on Saturdays the "
    "stalls sell cheese, bread and \\\"whatever the season brings\\\", as the locals say. ";

/// Prose that talks about errors, as model output about code does.
inline constexpr std::string_view kErrorProse =
    "To handle the error, wrap the call in a try block and log the error message before "
    "retrying. If the server returns an \\\"error\\\" field, read its type first: a "
    "rate_limit_error means slow down, while an overloaded_error means the provider is busy. "
    "Never retry an invalid_request_error without changing the request. ";

/// An Anthropic Messages API response of about 2.3 KB.
inline std::string anthropic_message() {
  std::string text;
  while (text.size() < 1700) text.append(kErrorProse);
  return R"({"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",)"
         R"("model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":")" +
         text +
         R"("}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,)"
         R"("cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":503}})";
}

/// An OpenAI embeddings response of about 14 KB (text-embedding-3-small, cut to 1,120 values).
inline std::string openai_embedding() {
  std::string body = R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[)";
  unsigned state = 20260204;
  for (int i = 0; i < 1120; ++i) {
    state = state * 1103515245U + 12345U;  // a fixed sequence of plausible components
    const unsigned digits = (state >> 8U) % 100000000U;
    body.append(i == 0 ? "" : ",").append((state & 1U) != 0 ? "-0.0" : "0.0");
    const std::string number = std::to_string(digits);
    body.append(8 - number.size(), '0').append(number);
  }
  body.append(R"(]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,)"
              R"("total_tokens":8}})");
  return body;
}

/// An Anthropic Messages stream of at least `size` bytes: start events, deltas of `prose`, stop
/// events, and `error_event` halfway if one is given.
inline std::string anthropic_stream(std::size_t size, std::string_view prose = kProse,
                                    std::string_view error_event = {}) {
  std::string stream =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"
      "\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"content\":"
      "[],\"model\":\"claude-sonnet-4-5-20250929\",\"stop_reason\":null,\"stop_sequence\":null,"
      "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: ping\ndata: {\"type\": \"ping\"}\n\n";
  std::size_t word = 0;
  while (stream.size() < size) {
    if (!error_event.empty() && stream.size() >= size / 2) {
      stream.append(error_event);
      error_event = {};
    }
    // A delta of a few words, cut on spaces.
    const std::size_t end = prose.find(' ', word + 24);
    const std::string_view delta = prose.substr(word, end - word);
    word = end == std::string_view::npos ? 0 : end;
    stream.append(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"");
    stream.append(delta).append("\"}}\n\n");
  }
  stream.append(
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
      "\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  return stream;
}

/// An OpenAI chat completion stream of at least `size` bytes: chunks with deltas of `prose`,
/// `error_data` halfway if one is given, then `data: [DONE]`.
inline std::string openai_chat_stream(std::size_t size, std::string_view prose = kProse,
                                      std::string_view error_data = {}) {
  std::string stream;
  std::size_t word = 0;
  while (stream.size() < size) {
    if (!error_data.empty() && stream.size() >= size / 2) {
      stream.append(error_data);
      error_data = {};
    }
    const std::size_t end = prose.find(' ', word + 24);
    const std::string_view delta = prose.substr(word, end - word);
    word = end == std::string_view::npos ? 0 : end;
    stream.append(
        "data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":"
        "\"chat.completion.chunk\",\"created\":1741569952,\"model\":\"gpt-4.1-2025-04-14\","
        "\"service_tier\":\"default\",\"system_fingerprint\":null,\"choices\":[{\"index\":0,"
        "\"delta\":{\"content\":\"");
    stream.append(delta).append("\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
  }
  stream.append("data: [DONE]\n\n");
  return stream;
}

/// Anthropic's error event, as it arrives in the middle of a stream.
inline constexpr std::string_view kAnthropicErrorEvent =
    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
    "\"message\":\"Overloaded\"},\"request_id\":\"req_011CSHoEeqs5C35K2UUqR7Fy\"}\n\n";

/// OpenAI's chat completion error data, as it arrives in the middle of a stream.
inline constexpr std::string_view kOpenAIErrorData =
    "data: {\"error\":{\"message\":\"The server had an error while processing your request.\","
    "\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";

}  // namespace keyward::testing
