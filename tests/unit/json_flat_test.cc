// The strict reader for flat JSON objects: what it accepts, decodes and refuses.
#include "util/json_flat.h"

#include "scepter/text.h"

#include <gtest/gtest.h>

namespace scepter {
namespace {

TEST(JsonFlat, ReadsTheValidationAnswer) {
    auto o = parse_flat_json(R"({"code": "Success", "errorDescription": ""})");
    ASSERT_EQ(o.size(), 2u);
    EXPECT_EQ(o["code"].type, JsonScalar::Type::String);
    EXPECT_EQ(o["code"].text, "Success");
    EXPECT_EQ(o["errorDescription"].text, "");
    ASSERT_NE(json_string_value(o, "code"), nullptr);
    EXPECT_EQ(*json_string_value(o, "code"), "Success");
    EXPECT_EQ(json_string_value(o, "missing"), nullptr);
}

TEST(JsonFlat, ReadsNumbersBoolsAndNull) {
    auto o = parse_flat_json(" {\"a\":0,\"b\":-12.5e+3,\"c\":true,\"d\":false,\"e\":null,\"f\":1E2}\r\n\t ");
    EXPECT_EQ(o["a"].type, JsonScalar::Type::Number);
    EXPECT_EQ(o["a"].text, "0");
    EXPECT_EQ(o["b"].text, "-12.5e+3");
    EXPECT_EQ(o["c"].type, JsonScalar::Type::Bool);
    EXPECT_EQ(o["c"].text, "true");
    EXPECT_EQ(o["d"].text, "false");
    EXPECT_EQ(o["e"].type, JsonScalar::Type::Null);
    EXPECT_EQ(o["f"].text, "1E2");
    EXPECT_EQ(json_string_value(o, "e"), nullptr);  // null is not a string
    EXPECT_TRUE(parse_flat_json("{}").empty());
    EXPECT_TRUE(parse_flat_json(" { } ").empty());
}

TEST(JsonFlat, DecodesEscapes) {
    auto o = parse_flat_json(R"({"s": "a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00"})");
    EXPECT_EQ(o["s"].text, "a\"b\\c/d\b\f\n\r\tA\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    // Raw UTF-8 passes through; keys are decoded too.
    auto k = parse_flat_json("{\"cl\\u00e9\": \"\xC3\xA9t\xC3\xA9\"}");
    EXPECT_EQ(k.begin()->first, "cl\xC3\xA9");
    EXPECT_EQ(k.begin()->second.text, "\xC3\xA9t\xC3\xA9");
}

TEST(JsonFlat, RefusesWhatIsNotAFlatObject) {
    const char* refused[] = {
        "",
        "   ",
        "[]",
        "\"text\"",
        "42",
        "null",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{,}",
        "{\"a\":1 \"b\":2}",
        "{a:1}",
        "{'a':'b'}",
        "{\"a\":{\"b\":1}}",            // nested object
        "{\"a\":[1,2]}",                // array
        "{\"a\":1,\"a\":2}",            // duplicate key
        "{\"a\":1}x",                   // trailing data
        "{\"a\":1}{}",
        "{\"a\":01}",                   // leading zero
        "{\"a\":-}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":1e}",
        "{\"a\":+1}",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "{\"a\":tru}",
        "{\"a\":True}",
        "{\"a\":\"x\\q\"}",             // unknown escape
        "{\"a\":\"\\u12\"}",            // short \u
        "{\"a\":\"\\u12G4\"}",
        "{\"a\":\"\\ud83d\"}",          // lone high surrogate
        "{\"a\":\"\\ud83dx\"}",
        "{\"a\":\"\\ud83d\\u0041\"}",
        "{\"a\":\"\\ude00\"}",          // lone low surrogate
        "{\"a\":\"tab\there\"}",        // raw control character
        "{\"a\":\"line\nbreak\"}",
        "{\"a\":\"unterminated}",
        "{\"a\":\"\xC3\"}",             // truncated UTF-8
        "{\"a\":\"\xC0\xAF\"}",         // overlong '/'
        "{\"a\":\"\xED\xA0\x80\"}",     // encoded surrogate
        "{\"a\":\"\xF4\x90\x80\x80\"}", // above U+10FFFF
        "{\"a\":\"\xFF\"}",
        "\xEF\xBB\xBF{}",               // byte order mark
    };
    for (const char* text : refused) {
        EXPECT_THROW(parse_flat_json(text), JsonError) << text;
    }
    EXPECT_THROW(parse_flat_json(std::string("{\"a\":\"x\0y\"}", 11)), JsonError);  // raw NUL in a string
    EXPECT_THROW(parse_flat_json(std::string("{\"a\":1}\0", 8)), JsonError);          // NUL after the object
}

TEST(JsonFlat, ErrorsSayWhere) {
    try {
        parse_flat_json("{\"a\": [1]}");
        FAIL();
    } catch (const JsonError& e) {
        EXPECT_EQ(e.offset(), 6u);
        EXPECT_NE(std::string(e.what()).find("nested"), std::string::npos);
    }
}

TEST(JsonFlat, SanitisesAndQuotesForWriting) {
    EXPECT_EQ(utf8_sanitize("plain"), "plain");
    EXPECT_EQ(utf8_sanitize("\xC3\xA9"), "\xC3\xA9");
    EXPECT_EQ(utf8_sanitize("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
    EXPECT_EQ(utf8_sanitize("\xC3"), "\xEF\xBF\xBD");
    EXPECT_EQ(json_quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
    // Whatever goes in, what comes out reads back.
    std::string nasty = "x\xFF\xC0\xAF\"\\\n\t\x7f\xE2\x82";
    auto o = parse_flat_json("{\"k\":" + json_quote(nasty) + "}");
    EXPECT_EQ(o["k"].text, utf8_sanitize(nasty));
}

}  // namespace
}  // namespace scepter
