#include "proto/json_writer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <string>

namespace ringcast::proto {
namespace {

// Parses {"k":<string>} written by JsonWriter back with simdjson.
std::string RoundTrip(std::string_view value) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Field("k", value);
  w.EndObject();
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(out);
  simdjson::ondemand::document doc;
  EXPECT_EQ(parser.iterate(padded).get(doc), simdjson::SUCCESS) << out;
  std::string_view parsed;
  EXPECT_EQ(doc["k"].get_string().get(parsed), simdjson::SUCCESS) << out;
  return std::string(parsed);
}

TEST(JsonWriterTest, EmptyContainers) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("a");
  w.BeginArray();
  w.EndArray();
  w.Key("b");
  w.BeginObject();
  w.EndObject();
  w.EndObject();
  EXPECT_EQ(out, R"({"a":[],"b":{}})");
  EXPECT_TRUE(w.IsComplete());
}

TEST(JsonWriterTest, InsertsCommasInNestedContainers) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  w.Uint(1);
  w.BeginArray();
  w.Int(-2);
  w.BeginObject();
  w.Field("x", true);
  w.Key("y");
  w.Null();
  w.EndObject();
  w.EndArray();
  w.String("s");
  w.EndArray();
  EXPECT_EQ(out, R"([1,[-2,{"x":true,"y":null}],"s"])");
}

TEST(JsonWriterTest, NumberLimits) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  w.Uint(0);
  w.Uint(std::numeric_limits<uint64_t>::max());
  w.Int(std::numeric_limits<int64_t>::min());
  w.Int(std::numeric_limits<int64_t>::max());
  w.EndArray();
  EXPECT_EQ(out, "[0,18446744073709551615,-9223372036854775808,9223372036854775807]");
}

TEST(JsonWriterTest, FieldOverloadsPickTheRightType) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Field("lit", "text");  // a literal must stay a string, not decay to bool
  w.Field("sv", std::string_view("v"));
  w.Field("b", false);
  w.Field("i", -5);
  w.Field("u", uint64_t{5});
  w.Field("u16", uint16_t{1001});
  w.RawField("raw", R"({"n":[1,2]})");
  w.EndObject();
  EXPECT_EQ(out, R"({"lit":"text","sv":"v","b":false,"i":-5,"u":5,"u16":1001,"raw":{"n":[1,2]}})");
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControlCharacters) {
  std::string out;
  JsonWriter w(&out);
  w.String(std::string_view("a\"b\\c/\b\f\n\r\t\x01\x1f\x7f", 14));
  EXPECT_EQ(out, R"("a\"b\\c/\b\f\n\r\t\u0001\u001f)"
                 "\x7f\"");
}

TEST(JsonWriterTest, EscapesNulInKeysAndValues) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Field(std::string_view("k\0", 2), std::string_view("\0v", 2));
  w.EndObject();
  EXPECT_EQ(out, R"({"k\u0000":"\u0000v"})");
}

TEST(JsonWriterTest, PassesUtf8Through) {
  std::string out;
  JsonWriter w(&out);
  w.String("caf\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
}

TEST(JsonWriterTest, EveryAsciiByteRoundTrips) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(RoundTrip(all), all);
}

TEST(JsonWriterTest, AssortedStringsRoundTrip) {
  const std::string cases[] = {
      "",
      "plain",
      "\"\"\"",
      "\\\\",
      "line\nbreak\r\n",
      std::string("nul\0inside", 10),
      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
      std::string(1000, '\x02') + "end",
  };
  for (const std::string& s : cases) EXPECT_EQ(RoundTrip(s), s);
}

TEST(JsonWriterTest, AppendsWithoutClearing) {
  std::string out = "prefix:";
  JsonWriter w(&out);
  w.BeginObject();
  w.EndObject();
  EXPECT_EQ(out, "prefix:{}");
}

TEST(JsonWriterTest, LargePiecesKeepTheirPlace) {
  const std::string big(5000, 'y');
  const std::string long_text(300, 'z');
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Field("a", "x");
  w.RawField("data", "\"" + big + "\"");
  w.Field("t", long_text);
  w.Field("n", 1);
  w.EndObject();
  EXPECT_EQ(out, R"({"a":"x","data":")" + big + R"(","t":")" + long_text + R"(","n":1})");
}

TEST(JsonWriterTest, OutIsCompleteAfterEachTopLevelValueAndFlush) {
  std::string out;
  {
    JsonWriter w(&out);
    w.Uint(5);
    EXPECT_EQ(out, "5");
    w.BeginArray();
    w.String("a");
    w.Flush();
    EXPECT_EQ(out, R"(5["a")");
    w.EndArray();
    EXPECT_EQ(out, R"(5["a"])");
    w.BeginObject();
    w.Field("k", "v");
  }  // the destructor flushes what is staged
  EXPECT_EQ(out, R"(5["a"]{"k":"v")");
}

TEST(JsonWriterTest, TopLevelValuesAreNotSeparated) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.EndObject();
  w.BeginObject();
  w.EndObject();
  EXPECT_EQ(out, "{}{}");
}

TEST(JsonWriterTest, ReusedScratchDoesNotReallocate) {
  std::string out;
  out.reserve(256);
  const char* data = out.data();
  for (int i = 0; i < 100; ++i) {
    out.clear();
    JsonWriter w(&out);
    w.BeginObject();
    w.Field("op", "msg");
    w.Field("seq", static_cast<uint64_t>(i));
    w.EndObject();
  }
  EXPECT_EQ(out.data(), data);
}

TEST(JsonWriterTest, NestsUpToMaxDepth) {
  std::string out;
  JsonWriter w(&out);
  for (int i = 0; i < JsonWriter::kMaxDepth; ++i) w.BeginArray();
  EXPECT_EQ(w.depth(), JsonWriter::kMaxDepth);
  for (int i = 0; i < JsonWriter::kMaxDepth; ++i) w.EndArray();
  EXPECT_EQ(out, std::string(32, '[') + std::string(32, ']'));
  EXPECT_TRUE(w.IsComplete());
}

TEST(JsonWriterDeathTest, DeeperThanMaxDepthCrashes) {
  EXPECT_DEATH(
      {
        std::string out;
        JsonWriter w(&out);
        for (int i = 0; i <= JsonWriter::kMaxDepth; ++i) w.BeginArray();
      },
      "check failed");
}

TEST(JsonWriterDeathTest, ValueInObjectWithoutKeyCrashes) {
  EXPECT_DEATH(
      {
        std::string out;
        JsonWriter w(&out);
        w.BeginObject();
        w.Uint(1);
      },
      "check failed");
}

TEST(JsonWriterDeathTest, MismatchedCloseCrashes) {
  EXPECT_DEATH(
      {
        std::string out;
        JsonWriter w(&out);
        w.BeginObject();
        w.EndArray();
      },
      "check failed");
}

}  // namespace
}  // namespace ringcast::proto
