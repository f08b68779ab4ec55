// The helpers the provider classifiers share: SSE error events, error documents and objects,
// challenges across fields, rate-limit windows, waits until a time, and key-echo redaction.
#include "keyward/classify/provider_support.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include "support/fake_clock.hpp"

namespace keyward::classify {
namespace {

using namespace std::chrono_literals;

TEST(IcontainsTest, IgnoresAsciiCaseOnly) {
  EXPECT_TRUE(icontains("OAuth Authentication is currently NOT supported", "not supported"));
  EXPECT_TRUE(icontains("abc", ""));
  EXPECT_FALSE(icontains("ab", "abc"));
  EXPECT_FALSE(icontains("\xC3\x89T\xC3\x89", "\xC3\xA9t\xC3\xA9"));
}

TEST(SseErrorDataTest, ReturnsTheDataOfTheFirstErrorEvent) {
  const auto data = sse_error_data(
      "event: ping\ndata: {}\n\nevent: error\ndata: {\"a\":1}\n\nevent: error\ndata: second\n\n");
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, "{\"a\":1}");
}

TEST(SseErrorDataTest, JoinsDataLinesAndAcceptsEveryLineEnding) {
  for (const char* stream :
       {"event: error\ndata: a\ndata: b\n\n", "event: error\r\ndata: a\r\ndata: b\r\n\r\n",
        "event: error\rdata: a\rdata: b\r\r", "event:error\ndata:a\ndata:b"}) {
    const auto data = sse_error_data(stream);
    ASSERT_TRUE(data) << stream;
    EXPECT_EQ(*data, "a\nb") << stream;
  }
}

TEST(SseErrorDataTest, FindsUnnamedEventsWhoseDataIsAnErrorDocument) {
  EXPECT_TRUE(sse_error_data("data: {\"error\":{\"message\":\"x\"}}\n\n"));
  EXPECT_FALSE(sse_error_data("data: {\"error\":\"just a string\"}\n\n"));
  EXPECT_FALSE(sse_error_data("data: {\"text\":\"no error here\"}\n\n"));
  EXPECT_FALSE(sse_error_data("event: error\n\n"));  // no data: the event is not dispatched
  EXPECT_FALSE(sse_error_data(": error\n\n"));       // a comment
  EXPECT_FALSE(sse_error_data(""));
}

TEST(ErrorObjectTest, FindsTheErrorInEachProviderShape) {
  const auto object = [](std::string_view text) {
    const auto json = detail::json::parse(text);
    const auto* error = json ? error_object(*json) : nullptr;
    return error != nullptr ? std::string{error->string_or("message")} : std::string{"none"};
  };
  EXPECT_EQ(object(R"({"type":"error","error":{"message":"anthropic"}})"), "anthropic");
  EXPECT_EQ(object(R"({"type":"response.failed","response":{"error":{"message":"responses"}}})"),
            "responses");
  EXPECT_EQ(object(R"({"type":"error","code":"x","message":"flat"})"), "flat");
  EXPECT_EQ(object(R"({"error":"invalid_grant"})"), "none");
  EXPECT_EQ(object(R"([{"error":{"message":"array"}}])"), "none");
}

TEST(ErrorDocumentTest, UnwrapsArraysAndReadsStreamsOnlyAfterA2xx) {
  const auto array = error_document(Response{429, {}, R"([{"error":{"status":"X"}}])"});
  ASSERT_TRUE(array.json);
  EXPECT_TRUE(array.json->is_object());
  EXPECT_FALSE(array.streamed);
  const Headers sse{{"Content-Type", "Text/Event-Stream"}};
  const auto stream = error_document(Response{200, sse, "event: error\ndata: {}\n\n"});
  EXPECT_TRUE(stream.streamed);
  EXPECT_FALSE(error_document(Response{200, {}, R"({"error":{}})"}).json);
  EXPECT_FALSE(error_document(Response{500, {}, "<html>"}).json);
}

TEST(ErrorDocumentTest, ReadsBodiesAndStreamsLeniently) {
  const auto body =
      error_document(Response{400, {}, R"({"error":{"type":"x","message":"a\ud83d\x"}})"});
  ASSERT_TRUE(body.json);
  EXPECT_EQ(error_object(*body.json)->string_or("message"), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  const Headers sse{{"content-type", "text/event-stream"}};
  const auto stream =
      error_document(Response{200, sse, "data: {\"error\":{\"message\":\"b\xFF\\uDC00\"}}\n\n"});
  ASSERT_TRUE(stream.json);
  EXPECT_TRUE(stream.streamed);
  EXPECT_EQ(error_object(*stream.json)->string_or("message"), "b\xEF\xBF\xBD\xEF\xBF\xBD");
  // Broken structure is still no document.
  EXPECT_FALSE(error_document(Response{400, {}, R"({"error":{"message":"a\ud83d")"}).json);
}

TEST(ChallengesTest, CollectsEveryFieldAndFindsTheFirstBearerOrDpopError) {
  const Headers headers{{"WWW-Authenticate", R"(Basic realm="a")"},
                        {"x-other", "Bearer error=\"nope\""},
                        {"www-authenticate", R"(Bearer realm="b", DPoP error="use_dpop_nonce")"},
                        {"www-authenticate", R"(Bearer error="invalid_token")"}};
  const auto challenges = all_challenges(headers);
  ASSERT_EQ(challenges.size(), 4U);
  const auto* error = error_challenge(challenges);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->scheme, "DPoP");
}

TEST(WindowWaitTest, PrefersTheLatestExhaustedWindowThenTheLatestOfAll) {
  const std::array<RateLimitWindow, 3> windows{{{false, 50s}, {true, 20s}, {true, 30s}}};
  EXPECT_EQ(*window_wait(windows, 1h), 30s);
  const std::array<RateLimitWindow, 2> none{{{false, 5s}, {false, 9s}}};
  EXPECT_EQ(*window_wait(none, 1h), 9s);
  const std::array<RateLimitWindow, 2> unknown{{{true, std::nullopt}, {false, 4s}}};
  EXPECT_EQ(*window_wait(unknown, 1h), 4s);
  EXPECT_EQ(*window_wait(windows, 25s), 25s);
  EXPECT_FALSE(window_wait({}, 1h));
}

TEST(IsZeroCountTest, AcceptsOnlyZero) {
  EXPECT_TRUE(is_zero_count("0"));
  EXPECT_TRUE(is_zero_count(" 00 "));
  EXPECT_FALSE(is_zero_count(""));
  EXPECT_FALSE(is_zero_count("10"));
  EXPECT_FALSE(is_zero_count("-0"));
}

TEST(WaitUntilTest, NamesOnlyFutureTimesAndSurvivesExtremeClocks) {
  const TimePoint now{testing::kFixtureNow};
  const auto at = std::chrono::floor<std::chrono::milliseconds>(now);
  EXPECT_EQ(*wait_until(at + 1500ms, now), 1500ms);
  EXPECT_FALSE(wait_until(at, now));
  EXPECT_FALSE(wait_until(at - 1s, now));
  EXPECT_TRUE(wait_until(at, TimePoint::min()));
  EXPECT_FALSE(wait_until(at, TimePoint::max()));
}

TEST(RedactKeyEchoesTest, ReplacesMaskedKeysAndKeepsTheRest) {
  std::string message = "Incorrect API key provided: sk-proj-****21sA. You can find it (sk-***x).";
  redact_key_echoes(message);
  EXPECT_EQ(message, "Incorrect API key provided: [redacted]. You can find it ([redacted]).");
  std::string plain = "nothing to hide * here ** either";
  redact_key_echoes(plain);
  EXPECT_EQ(plain, "nothing to hide * here ** either");
  std::string edge = "***";
  redact_key_echoes(edge);
  EXPECT_EQ(edge, "[redacted]");
}

TEST(RedactKeyEchoesTest, KeepsSpacesAndPunctuationOnlyWords) {
  std::string message = "  ... sk-***x  ((***)) ! ";
  redact_key_echoes(message);
  EXPECT_EQ(message, "  ... [redacted]  (([redacted])) ! ");
  std::string stars_inside_punctuation = "(*)**";
  redact_key_echoes(stars_inside_punctuation);
  EXPECT_EQ(stars_inside_punctuation, "(*)**");
}

TEST(RedactKeyEchoesTest, RedactsAMegabyteFullOfMaskedKeys) {
  constexpr std::string_view kPiece = "key sk-proj-****21sA, (sk-***x). * ok\t";
  constexpr std::string_view kRedactedPiece = "key [redacted], ([redacted]). * ok\t";
  std::string message;
  std::string expected;
  while (message.size() < (1U << 20U)) {
    message.append(kPiece).push_back(' ');
    expected.append(kRedactedPiece).push_back(' ');
  }
  redact_key_echoes(message);
  EXPECT_EQ(message, expected);
}

}  // namespace
}  // namespace keyward::classify
