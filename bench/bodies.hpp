// The response bodies the send benchmarks get back from a do-nothing transport, built
// deterministically: an Anthropic message (about 2.3 KB of JSON), an OpenAI embeddings response
// (about 14 KB, pretty-printed as the API sends it) and an Anthropic messages stream (about 10 KB
// of server-sent events: message_start, content_block_delta events, message_stop).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace keyward::bench {

/// What the do-nothing transport answers: a content type (none when empty) and a body.
struct Canned {
  std::string_view name;
  std::string content_type;
  std::string body;
};

/// The assistant's answer in both Anthropic bodies, JSON-escaped already. It never says "error",
/// which would make a stream classifier parse the event (healthy streams rarely do).
inline constexpr std::string_view kAnswerText =
    "Retrying an HTTP request safely comes down to three questions: is the request idempotent, "
    "did the server say when to come back, and how many clients will come back at the same "
    "moment?\n\nFor the first, GET, PUT and DELETE can be sent again without changing the "
    "outcome, while a POST that creates something needs an idempotency key so that the server "
    "can recognise the second copy. Most model APIs accept a POST again because generating a "
    "completion twice only costs tokens, but a payment API does not.\n\nFor the second, honour "
    "`Retry-After` when it is present: it is either a number of seconds or an HTTP date, and "
    "some providers add their own header in milliseconds. A 429 with `Retry-After: 20` means "
    "the next twenty seconds are wasted on this key, so a client with several keys should move "
    "to another one rather than sleep.\n\nFor the third, add jitter. If a thousand workers all "
    "back off for exactly one second, they arrive together again and the server sees the same "
    "spike. Full jitter, a random wait between zero and the current backoff, spreads them out; "
    "capping the backoff at a minute keeps a long outage from turning into hour-long "
    "sleeps.\n\nA few more details are worth getting right:\n\n1. Treat 401 differently from "
    "429. A rejected credential will not start working by waiting; refresh it once, replay the "
    "request once, and if it is still refused, stop and tell a person.\n2. Refresh in one "
    "place. When sixty-four threads see an expired token together, one of them should call the "
    "token endpoint and the others should wait for its answer, or a rotating refresh token will "
    "be spent sixty-four times.\n3. Keep the secret out of logs. Print a fingerprint such as "
    "the last four characters, never the token.\n\nWith those in place, the retry loop itself "
    "is short: send, classify the response, and either deliver it, wait and send again, or "
    "give up with a message that names the fix, the profile and the fingerprint of the key, so "
    "that whoever reads it knows which credential to replace.";

/// An Anthropic Messages API response (POST /v1/messages, not streamed).
inline std::string anthropic_message() {
  std::string body = R"({"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",)"
                     R"("model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":")";
  body.append(kAnswerText);
  body.append(R"("}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,)"
              R"("cache_creation_input_tokens":0,"cache_read_input_tokens":0,)"
              R"("output_tokens":503,"service_tier":"standard"}})");
  return body;
}

/// An OpenAI embeddings response (POST /v1/embeddings, text-embedding-3-small with
/// dimensions=640), pretty-printed as the API sends it; the values come from a fixed generator.
inline std::string openai_embeddings() {
  constexpr int kDimensions = 640;
  std::string body =
      "{\n  \"object\": \"list\",\n  \"data\": [\n    {\n      \"object\": \"embedding\",\n"
      "      \"index\": 0,\n      \"embedding\": [\n";
  std::uint64_t state = 0x9e3779b97f4a7c15U;
  for (int i = 0; i < kDimensions; ++i) {
    state = state * 6364136223846793005U + 1442695040888963407U;  // Knuth's MMIX LCG
    // Roughly what a unit vector of 640 components holds: magnitudes up to ~0.1, a few tiny.
    const auto bits = static_cast<std::uint32_t>(state >> 32);
    double value = (static_cast<double>(bits) / 4294967296.0 - 0.5) * 0.16;
    if (bits % 37 == 0) value *= 0.0004;
    std::array<char, 32> number{};
    std::snprintf(number.data(), number.size(), "%.9g", value);
    body.append("        ").append(number.data()).append(i + 1 < kDimensions ? ",\n" : "\n");
  }
  body.append(
      "      ]\n    }\n  ],\n  \"model\": \"text-embedding-3-small\",\n  \"usage\": {\n"
      "    \"prompt_tokens\": 8,\n    \"total_tokens\": 8\n  }\n}\n");
  return body;
}

/// An Anthropic Messages API stream (POST /v1/messages with "stream": true): the answer in
/// content_block_delta events of a few words each, between the opening and closing events.
inline std::string anthropic_stream() {
  std::string body;
  const auto event = [&body](std::string_view name, std::string_view data) {
    body.append("event: ").append(name).append("\ndata: ").append(data).append("\n\n");
  };
  event("message_start",
        R"({"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL",)"
        R"("type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",)"
        R"("content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":2095,)"
        R"("cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,)"
        R"("service_tier":"standard"}}})");
  event("content_block_start",
        R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  event("ping", R"({"type": "ping"})");
  // Chunks end after a space once they reach 27 bytes, so no JSON escape is ever split.
  std::string_view rest = kAnswerText;
  while (!rest.empty()) {
    std::size_t end = rest.find(' ', 27);
    end = end == std::string_view::npos ? rest.size() : end + 1;
    std::string data = R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta",)"
                       R"("text":")";
    data.append(rest.substr(0, end)).append("\"}}");
    event("content_block_delta", data);
    rest.remove_prefix(end);
  }
  event("content_block_stop", R"({"type":"content_block_stop","index":0})");
  event("message_delta",
        R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
        R"("usage":{"output_tokens":503}})");
  event("message_stop", R"({"type":"message_stop"})");
  return body;
}

/// The bodies of the send benchmarks, built once: empty (no content type), message, embeddings,
/// stream.
inline const std::array<Canned, 4>& canned_responses() {
  static const std::array<Canned, 4> all{{
      {"empty", "", ""},
      {"message", "application/json", anthropic_message()},
      {"embeddings", "application/json", openai_embeddings()},
      {"stream", "text/event-stream", anthropic_stream()},
  }};
  return all;
}

}  // namespace keyward::bench
