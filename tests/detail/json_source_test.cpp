// detail::json::Value::source() and member_source(): where parse() found each value, so that a
// writer can copy what it does not change byte for byte (store::File).
#include <gtest/gtest.h>

#include <string_view>

#include "keyward/detail/json.hpp"
#include "keyward/detail/json_write.hpp"

namespace keyward::detail::json {
namespace {

TEST(JsonSource, EveryValueKeepsItsSourceTextWithoutSurroundingWhitespace) {
  constexpr std::string_view kText =
      " {\"a\" :  [1.50, {\"b\\u0041\": null} ],\n \"n\": 1E+2, \"s\": \"x\\/y\"} \n";
  const auto root = parse(kText);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->source(kText), kText.substr(1, kText.size() - 3));
  const Value* a = root->find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->source(kText), R"([1.50, {"b\u0041": null} ])");
  EXPECT_EQ(a->member_source(kText), R"("a" :  [1.50, {"b\u0041": null} ])");
  EXPECT_EQ((*a->as_array())[0].source(kText), "1.50");
  EXPECT_EQ((*a->as_array())[0].member_source(kText), "1.50");  // not a member: source()
  EXPECT_EQ((*a->as_array())[1].find("bA")->member_source(kText), R"("b\u0041": null)");
  EXPECT_EQ(root->find("n")->member_source(kText), R"("n": 1E+2)");
  EXPECT_EQ(root->find("s")->source(kText), R"("x\/y")");
  EXPECT_EQ(Value{}.source(kText), "");  // not made by parse()
}

TEST(JsonSource, TheStyleOfADocumentIsReadFromItsRootsFirstMembers) {
  const auto style_of = [](std::string_view text) {
    const auto root = parse(text);
    EXPECT_TRUE(root);
    return detect_style(text, root.value_or(Value{}));
  };
  const Style compact = style_of(R"({"a":1,"b":2})");
  EXPECT_FALSE(compact.multiline);
  EXPECT_EQ(compact.colon, ":");
  EXPECT_EQ(compact.comma, ",");
  const Style python = style_of(R"({"a": 1, "b": 2})");
  EXPECT_FALSE(python.multiline);
  EXPECT_EQ(python.colon, ": ");
  EXPECT_EQ(python.comma, ", ");
  const Style tabs = style_of("{\r\n\t\"a\": 1\r\n}\r\n");
  EXPECT_TRUE(tabs.multiline);
  EXPECT_EQ(tabs.newline, "\r\n");
  EXPECT_EQ(tabs.indent, "\t");
  const Style four = style_of("{\n    \"a\": {\n        \"b\": 1\n    }\n}");
  EXPECT_TRUE(four.multiline);
  EXPECT_EQ(four.indent, "    ");
  const Style empty = style_of("{}");  // nothing to go by: the default, two spaces
  EXPECT_TRUE(empty.multiline);
  EXPECT_EQ(empty.indent, "  ");
}

}  // namespace
}  // namespace keyward::detail::json
