// The error document of a response: the error object of each provider's shape, the JSON body of
// an error status, and the error event of a stream that failed after a 2xx, found in one pass
// that agrees with the reader it replaced (sse_reference.hpp).
#include "keyward/classify/error_document.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <string>
#include <string_view>

#include "classify/realistic_bodies.hpp"
#include "classify/sse_reference.hpp"

namespace keyward::classify {
namespace {

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

TEST(SseErrorDataTest, FindsAnErrorEventInTheMiddleOfLongStreams) {
  const std::string anthropic =
      testing::anthropic_stream(14 << 10, testing::kErrorProse, testing::kAnthropicErrorEvent);
  const auto data = sse_error_data(anthropic);
  ASSERT_TRUE(data);
  EXPECT_NE(data->find("overloaded_error"), std::string::npos);
  const std::string openai =
      testing::openai_chat_stream(14 << 10, testing::kErrorProse, testing::kOpenAIErrorData);
  const auto chat = sse_error_data(openai);
  ASSERT_TRUE(chat);
  EXPECT_NE(chat->find("server_error"), std::string::npos);
}

TEST(SseErrorDataTest, TextThatTalksAboutErrorsIsNoErrorEvent) {
  for (const auto& prose : {testing::kProse, testing::kErrorProse}) {
    EXPECT_FALSE(sse_error_data(testing::anthropic_stream(14 << 10, prose)));
    EXPECT_FALSE(sse_error_data(testing::openai_chat_stream(14 << 10, prose)));
  }
  EXPECT_FALSE(sse_error_data("data: {\"text\":\"error\"}\n\ndata: {\"note\":\"an error\"}"));
  EXPECT_FALSE(sse_error_data("event: errors\ndata: {}\n\nevent: message\ndata: error\n\n"));
}

TEST(SseErrorDataTest, ANullErrorIsNoError) {
  // The Responses API sends its whole response object, "error":null included, in its lifecycle
  // events; only response.failed carries an error object.
  const std::string created =
      "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":"
      "\"resp_1\",\"status\":\"in_progress\",\"error\":null,\"output\":[]}}\n\n";
  EXPECT_FALSE(sse_error_data(created + created));
  const std::string failed =
      "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"status\":"
      "\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"x\"}}}\n\n";
  const auto data = sse_error_data(created + failed);
  ASSERT_TRUE(data);
  EXPECT_NE(data->find("response.failed"), std::string::npos);
}

TEST(SseErrorDataTest, AnErrorSpeltWithEscapesCountsAsItDidBefore) {
  // The reader it replaced parsed an event only when its data said "error" somewhere; then the
  // parsed key could be spelt with escapes.
  EXPECT_TRUE(sse_error_data(R"(data: {"\u0065rror":{"message":"x"},"note":"error"})"));
  EXPECT_FALSE(sse_error_data(R"(data: {"\u0065rror":{"message":"x"}})"));
  EXPECT_TRUE(sse_error_data("data: {\"type\":\"\\u0065rror\",\"note\":\"error\"}\n\n"));
}

TEST(SseErrorDataTest, ErrorDataSplitAcrossLinesIsFound) {
  const auto data = sse_error_data(
      "data: {\"delta\":\"error\"}\n\ndata: {\"error\":\ndata: {\"message\":\"x\"}}\r\n\r\n");
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, "{\"error\":\n{\"message\":\"x\"}}");
  EXPECT_TRUE(sse_error_data("data: {\"type\":\ndata: \"error\"}"));
}

// Streams of whole lines that matter to the reader (names, data that is or looks like an error
// document, comments, other fields) with any line ends, and stray pieces between them.
std::string random_lines(std::mt19937& random) {
  static const char* const kLines[] = {"event: error",
                                       "event:error",
                                       "event: ping",
                                       "event:  error",
                                       "data: {}",
                                       "data:",
                                       "data",
                                       ": comment error",
                                       "id: error",
                                       "data: {\"error\":{}}",
                                       "data: {\"error\":",
                                       "data: {\"message\":\"x\"}}",
                                       "data: \"error\"}",
                                       "data: {\"type\":",
                                       "data: {\"error\":null}",
                                       "data: {\"type\":\"error\"}",
                                       "data: an error",
                                       "data: {\"\\u0065rror\":{},\"e\":\"error\"}",
                                       "data: {\"response\":{\"error\":{}}}",
                                       "data:{\"text\":\"\\\"error\\\"\"}"};
  static const char* const kEnds[] = {"\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\r\r", ""};
  static const char* const kPieces[] = {"error", "\"error\"", ":", "{", "}", " ", "\\u0065"};
  std::string stream;
  const std::size_t lines = random() % 12;
  for (std::size_t i = 0; i < lines; ++i) {
    if (random() % 8 == 0) stream += kPieces[random() % std::size(kPieces)];
    stream += kLines[random() % std::size(kLines)];
    stream += kEnds[random() % std::size(kEnds)];
  }
  return stream;
}

// Streams of pieces in any order: line ends, names, fields and words that look like errors.
std::string random_pieces(std::mt19937& random) {
  static const char* const kPieces[] = {"event: error",
                                        "event:error",
                                        "event: ping",
                                        "event:  error",
                                        "data: ",
                                        "data:",
                                        "data",
                                        ": comment error",
                                        "\n",
                                        "\r\n",
                                        "\r",
                                        "\n\n",
                                        "{\"error\":{}}",
                                        "{\"error\":",
                                        "{\"message\":\"x\"}}",
                                        "\"error\"",
                                        "{\"error\":null}",
                                        "{\"type\":",
                                        "\"error\"}",
                                        "{\"type\":\"error\"}",
                                        "error",
                                        "an error",
                                        "\\u0065rror",
                                        "{\"\\u0065rror\":{}}",
                                        "{\"response\":",
                                        "{}",
                                        "}",
                                        " ",
                                        "{\"text\":\"",
                                        "\\\"error\\\"",
                                        "\"}",
                                        "id: error"};
  std::string stream;
  const std::size_t pieces = random() % 24;
  for (std::size_t i = 0; i < pieces; ++i) stream += kPieces[random() % std::size(kPieces)];
  return stream;
}

TEST(SseErrorDataTest, AgreesWithTheReaderItReplaced) {
  std::mt19937 random{20260204};
  std::size_t errors = 0;
  for (int i = 0; i < 20000; ++i) {
    for (const std::string& stream : {random_lines(random), random_pieces(random)}) {
      const auto expected = testing::sse_reference::sse_error_data(stream);
      ASSERT_EQ(sse_error_data(stream), expected) << stream;
      if (expected) ++errors;
    }
  }
  EXPECT_GT(errors, 4000U);  // the streams do hold error events, in every shape
}

TEST(ErrorDocumentTest, DoesNotReadTheBodyOfA2xxThatIsNotAStream) {
  for (const std::string& body :
       {std::string{"not json {{{"}, std::string(3 << 20, '['), testing::anthropic_message(),
        std::string{R"({"type":"error","error":{"type":"overloaded_error"}})"}}) {
    const auto document = error_document(Response{200, {}, body});
    EXPECT_FALSE(document.json);
    EXPECT_FALSE(document.streamed);
  }
}

TEST(ErrorDocumentTest, ReadsAnEventStreamWhateverTheCaseAndParametersOfItsType) {
  for (const char* type : {"text/event-stream", "Text/Event-Stream; charset=utf-8",
                           "TEXT/EVENT-STREAM;charset=UTF-8"}) {
    const auto document =
        error_document(Response{200, {{"content-type", type}}, "event: error\ndata: {}\n\n"});
    EXPECT_TRUE(document.streamed) << type;
    ASSERT_TRUE(document.json) << type;
    EXPECT_TRUE(document.json->is_object()) << type;
  }
  // The media type is the value's first token: a type that only contains it is another type.
  for (const char* type :
       {"text/event-streams", "application/json; note=text/event-stream", "text/event", ""}) {
    const auto document =
        error_document(Response{200, {{"content-type", type}}, "event: error\ndata: {}\n\n"});
    EXPECT_FALSE(document.streamed) << type;
  }
  const auto spaced = error_document(Response{
      200, {{"content-type", " text/event-stream ;charset=utf-8"}}, "event: error\ndata: {}\n\n"});
  EXPECT_TRUE(spaced.streamed);
}

}  // namespace
}  // namespace keyward::classify
