#include "proto/command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringcast::proto {
namespace {

using wire::CloseCode;
using wire::ErrorCode;
using wire::ErrorCodeName;

// ["u0","u1",...] with n user ids.
std::string Targets(size_t n) {
  std::string json = "[";
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) json += ',';
    json += "\"u" + std::to_string(i) + "\"";
  }
  return json + "]";
}

class CommandParserTest : public ::testing::Test {
 protected:
  // Parses `json`, expecting success.
  const Command& Ok(std::string_view json) {
    const std::optional<ParseError> err = parser_.Parse(json, &cmd_);
    EXPECT_FALSE(err.has_value()) << json << " -> " << ErrorCodeName(err->code) << ": "
                                  << err->reason;
    return cmd_;
  }

  // Parses `json`, expecting failure.
  ParseError Fail(std::string_view json) {
    const std::optional<ParseError> err = parser_.Parse(json, &cmd_);
    EXPECT_TRUE(err.has_value()) << json;
    return err.value_or(ParseError{ErrorCode::kInternal, "parsed fine", std::nullopt});
  }

  ErrorCode FailCode(std::string_view json) { return Fail(json).code; }

  // {"op":"pub","room":"r","data":<data>}
  std::string_view PubData(std::string_view data) {
    std::string json = std::string(R"({"op":"pub","room":"r","data":)") + std::string(data) + "}";
    return Ok(json).data;
  }

  CommandParser parser_;
  Command cmd_;
};

TEST_F(CommandParserTest, SubWithAllFields) {
  const Command& c =
      Ok(R"({"op":"sub","id":1,"room":"chat","since":{"seq":42,"epoch":"ab"},"presence":true})");
  EXPECT_EQ(c.op, Op::kSub);
  EXPECT_EQ(c.id, 1u);
  EXPECT_EQ(c.room, "chat");
  EXPECT_TRUE(c.presence);
  ASSERT_TRUE(c.since.has_value());
  EXPECT_EQ(c.since->seq, 42u);
  EXPECT_EQ(c.since->epoch, "ab");
}

TEST_F(CommandParserTest, SubDefaults) {
  const Command& c = Ok(R"({"op":"sub","room":"chat"})");
  EXPECT_EQ(c.op, Op::kSub);
  EXPECT_FALSE(c.id.has_value());
  EXPECT_FALSE(c.presence);
  EXPECT_FALSE(c.since.has_value());
}

TEST_F(CommandParserTest, FieldOrderDoesNotMatter) {
  const Command& c =
      Ok(R"( { "since" : { "epoch" : "e1" , "seq" : 9 } , "presence" : false, "room":"r" ,)"
         R"( "id" : 12 , "op" : "sub" } )");
  EXPECT_EQ(c.op, Op::kSub);
  EXPECT_EQ(c.id, 12u);
  EXPECT_EQ(c.room, "r");
  ASSERT_TRUE(c.since.has_value());
  EXPECT_EQ(c.since->seq, 9u);
  EXPECT_EQ(c.since->epoch, "e1");
}

TEST_F(CommandParserTest, Unsub) {
  const Command& c = Ok(R"({"room":"a:b","op":"unsub","id":0})");
  EXPECT_EQ(c.op, Op::kUnsub);
  EXPECT_EQ(c.id, 0u);
  EXPECT_EQ(c.room, "a:b");
}

TEST_F(CommandParserTest, PubWithAllFields) {
  const Command& c = Ok(
      R"({"op":"pub","room":"chat:42","data":{"text":"hello world","n":1},"echo":false,"id":7})");
  EXPECT_EQ(c.op, Op::kPub);
  EXPECT_EQ(c.id, 7u);
  EXPECT_EQ(c.room, "chat:42");
  EXPECT_EQ(c.data, R"({"text":"hello world","n":1})");
  EXPECT_FALSE(c.echo);
}

TEST_F(CommandParserTest, PubEchoDefaultsToTrue) {
  EXPECT_TRUE(Ok(R"({"data":1,"room":"r","op":"pub"})").echo);
}

TEST_F(CommandParserTest, SendToOneUser) {
  const Command& c = Ok(R"({"op":"send","to":"bob","data":"hi","id":3})");
  EXPECT_EQ(c.op, Op::kSend);
  ASSERT_EQ(c.to.size(), 1u);
  EXPECT_EQ(c.to[0], "bob");
  EXPECT_EQ(c.data, R"("hi")");
}

TEST_F(CommandParserTest, SendToManyUsers) {
  const Command& c = Ok(R"({"data":[1],"to":["a","b\u0063","d"],"op":"send"})");
  EXPECT_EQ(c.op, Op::kSend);
  EXPECT_EQ(c.to, (std::vector<std::string_view>{"a", "bc", "d"}));
  EXPECT_EQ(c.data, "[1]");
}

TEST_F(CommandParserTest, SendToExactlyMaxTargets) {
  const Command& c = Ok(R"({"op":"send","data":0,"to":)" + Targets(kMaxSendTargets) + "}");
  ASSERT_EQ(c.to.size(), kMaxSendTargets);
  EXPECT_EQ(c.to.back(), "u99");
}

TEST_F(CommandParserTest, ReqWithAllFields) {
  const Command& c = Ok(R"({"op":"req","id":5,"to":"srv","data":{"q":1},"timeout_ms":2500})");
  EXPECT_EQ(c.op, Op::kReq);
  EXPECT_EQ(c.id, 5u);
  EXPECT_EQ(c.to, (std::vector<std::string_view>{"srv"}));
  EXPECT_EQ(c.data, R"({"q":1})");
  EXPECT_EQ(c.timeout_ms, 2500u);
}

TEST_F(CommandParserTest, ReqAcceptsOneElementArray) {
  EXPECT_EQ(Ok(R"({"op":"req","to":["srv"],"data":1})").to.size(), 1u);
}

TEST_F(CommandParserTest, Res) {
  const Command& c = Ok(R"({"rid":"r-17","data":null,"op":"res"})");
  EXPECT_EQ(c.op, Op::kRes);
  EXPECT_EQ(c.rid, "r-17");
  EXPECT_EQ(c.data, "null");
}

TEST_F(CommandParserTest, Presence) {
  const Command& c = Ok(R"({"op":"presence","room":"lobby","id":99})");
  EXPECT_EQ(c.op, Op::kPresence);
  EXPECT_EQ(c.room, "lobby");
  EXPECT_EQ(c.id, 99u);
}

TEST_F(CommandParserTest, Ping) {
  EXPECT_EQ(Ok(R"({"op":"ping"})").op, Op::kPing);
  EXPECT_EQ(Ok(R"({"op":"ping","id":18446744073709551615})").id, 18446744073709551615u);
}

TEST_F(CommandParserTest, OpNames) {
  const std::pair<Op, std::string_view> ops[] = {
      {Op::kSub, "sub"}, {Op::kUnsub, "unsub"}, {Op::kPub, "pub"},           {Op::kSend, "send"},
      {Op::kReq, "req"}, {Op::kRes, "res"},     {Op::kPresence, "presence"}, {Op::kPing, "ping"},
  };
  for (const auto& [op, name] : ops) EXPECT_EQ(OpName(op), name);
}

TEST_F(CommandParserTest, EscapedKeysMatch) {
  EXPECT_EQ(Ok(R"({"\u006fp":"ping","\u0069d":4})").id, 4u);
}

TEST_F(CommandParserTest, UnknownFieldsAreIgnored) {
  const Command& c = Ok(R"({"op":"ping","x":{"deep":[1,{"y":null}]},"z":"w","id":2})");
  EXPECT_EQ(c.op, Op::kPing);
  EXPECT_EQ(c.id, 2u);
}

TEST_F(CommandParserTest, DuplicateKeysLastWins) {
  const Command& c = Ok(R"({"op":"ping","room":5,"room":"a","op":"sub","id":1,"id":2})");
  EXPECT_EQ(c.op, Op::kSub);
  EXPECT_EQ(c.room, "a");
  EXPECT_EQ(c.id, 2u);
  EXPECT_EQ(FailCode(R"({"op":"sub","room":"a","room":5})"), ErrorCode::kBadCommand);
}

// --- data is kept verbatim ---

TEST_F(CommandParserTest, DataKeepsRawText) {
  EXPECT_EQ(PubData(R"({"a":1,"b":[true,false,null]})"), R"({"a":1,"b":[true,false,null]})");
  EXPECT_EQ(PubData(R"([1, 2 ,3])"), "[1, 2 ,3]");
  EXPECT_EQ(PubData(R"("tab\tquote\"slash\\ \u00e9 \ud83d\ude00")"),
            R"("tab\tquote\"slash\\ \u00e9 \ud83d\ude00")");
  EXPECT_EQ(PubData("\"caf\xc3\xa9\""), "\"caf\xc3\xa9\"");
  EXPECT_EQ(PubData("-12.5e+3"), "-12.5e+3");
  EXPECT_EQ(PubData("0"), "0");
  EXPECT_EQ(PubData("true"), "true");
  EXPECT_EQ(PubData("false"), "false");
  EXPECT_EQ(PubData("null"), "null");
  EXPECT_EQ(PubData(R"({"k\u00e9y":{"\"":1}})"), R"({"k\u00e9y":{"\"":1}})");
  EXPECT_EQ(PubData(R"({})"), "{}");
  EXPECT_EQ(PubData(R"([])"), "[]");
  EXPECT_EQ(PubData(R"({"n":{"m":{"o":[[[{"p":"q"}]]]}}})"),
            R"({"n":{"m":{"o":[[[{"p":"q"}]]]}}})");
}

TEST_F(CommandParserTest, DataIsTrimmed) {
  EXPECT_EQ(Ok("{\"op\":\"pub\",\"room\":\"r\",\"data\":  {\"a\" : 1 } \t\r\n ,\"id\":1}").data,
            "{\"a\" : 1 }");
  EXPECT_EQ(Ok("{\"op\":\"pub\",\"room\":\"r\",\"data\":\n  42  \n}").data, "42");
  EXPECT_EQ(Ok("{\"op\":\"pub\",\"room\":\"r\",\"data\":\"s\"   }").data, "\"s\"");
}

TEST_F(CommandParserTest, DataNumbersBeyondDoubleAndUint64AreValidJson) {
  EXPECT_EQ(PubData("123456789012345678901234567890"), "123456789012345678901234567890");
  EXPECT_EQ(PubData("1e400"), "1e400");
  EXPECT_EQ(PubData("[-0.000000000000000000000000000001,1E-7]"),
            "[-0.000000000000000000000000000001,1E-7]");
}

TEST_F(CommandParserTest, DataFirstOrLast) {
  EXPECT_EQ(Ok(R"({"data":{"k":[1]},"op":"send","to":"u"})").data, R"({"k":[1]})");
  EXPECT_EQ(Ok(R"({"op":"send","to":"u","data":[{"k":1}]})").data, R"([{"k":1}])");
}

TEST_F(CommandParserTest, LargeDataThenSmallCommand) {
  std::string big = R"({"op":"pub","room":"r","data":")" + std::string(200000, 'x') + R"("})";
  EXPECT_EQ(Ok(big).data.size(), 200002u);
  EXPECT_EQ(Ok(R"({"op":"pub","room":"r","data":7})").data, "7");
}

// --- room names ---

TEST_F(CommandParserTest, UnicodeRoomEscapedAndRawAreTheSameBytes) {
  const std::string escaped(Ok(R"({"op":"sub","room":"caf\u00e9 \ud83d\ude00"})").room);
  const std::string raw(Ok("{\"op\":\"sub\",\"room\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}").room);
  EXPECT_EQ(escaped, raw);
  EXPECT_EQ(raw, "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST_F(CommandParserTest, RoomLengthIsCountedUnescaped) {
  std::string escaped_256;  // 128 x "\u00e9" = 256 bytes once unescaped
  for (int i = 0; i < 128; ++i) escaped_256 += "\\u00e9";
  EXPECT_EQ(Ok(R"({"op":"sub","room":")" + escaped_256 + "\"}").room.size(), 256u);
  EXPECT_EQ(Ok(R"({"op":"sub","room":")" + std::string(kMaxRoomBytes, 'r') + "\"}").room.size(),
            kMaxRoomBytes);
  const ParseError err = Fail(R"({"op":"sub","id":3,"room":")" + escaped_256 + "a\"}");
  EXPECT_EQ(err.code, ErrorCode::kBadCommand);
  EXPECT_EQ(err.id, 3u);
}

TEST_F(CommandParserTest, RoomMustBeNonEmptyString) {
  EXPECT_EQ(FailCode(R"({"op":"sub","room":""})"), ErrorCode::kBadCommand);
  EXPECT_EQ(FailCode(R"({"op":"sub","room":5})"), ErrorCode::kBadCommand);
  EXPECT_EQ(FailCode(R"({"op":"sub","room":["a"]})"), ErrorCode::kBadCommand);
  EXPECT_EQ(FailCode(R"({"op":"sub","room":null})"), ErrorCode::kBadCommand);
  EXPECT_EQ(Fail(R"({"op":"sub"})").reason, "missing room");
  EXPECT_EQ(Fail(R"({"op":"pub","data":1})").reason, "missing room");
  EXPECT_EQ(Fail(R"({"op":"presence"})").reason, "missing room");
  EXPECT_EQ(Fail(R"({"op":"unsub"})").reason, "missing room");
}

// --- op ---

TEST_F(CommandParserTest, MissingOp) {
  const ParseError err = Fail(R"({"room":"r","id":8})");
  EXPECT_EQ(err.code, ErrorCode::kBadCommand);
  EXPECT_EQ(err.reason, "missing op");
  EXPECT_EQ(err.id, 8u);
  EXPECT_EQ(Fail("{}").reason, "missing op");
}

TEST_F(CommandParserTest, OpMustBeAString) {
  const ParseError err = Fail(R"({"op":["pub"],"id":1})");
  EXPECT_EQ(err.code, ErrorCode::kBadCommand);
  EXPECT_EQ(err.reason, "op must be a string");
  EXPECT_EQ(err.id, 1u);
}

TEST_F(CommandParserTest, UnknownOpIsQuoted) {
  const ParseError err = Fail(R"({"op":"foo","id":3})");
  EXPECT_EQ(err.code, ErrorCode::kBadCommand);
  EXPECT_EQ(err.reason, "unknown op 'foo'");
  EXPECT_EQ(err.id, 3u);
  EXPECT_EQ(Fail(R"({"op":"PUB"})").reason, "unknown op 'PUB'");
  EXPECT_EQ(Fail(R"({"op":""})").reason, "unknown op ''");
}

TEST_F(CommandParserTest, UnknownOpQuoteIsCutOnUtf8Boundary) {
  // 31 ASCII bytes then a 2-byte character straddling the 32-byte cut.
  const std::string op = std::string(31, 'a') + "\xc3\xa9" + "tail";
  const ParseError err = Fail(R"({"op":")" + op + "\"}");
  EXPECT_EQ(err.reason, "unknown op '" + std::string(31, 'a') + "...'");
}

// --- id ---

TEST_F(CommandParserTest, IdIsExtractedWhereverItIs) {
  EXPECT_EQ(Fail(R"({"id":11,"op":"pub","room":7,"data":1})").id, 11u);
  EXPECT_EQ(Fail(R"({"op":"pub","room":7,"data":1,"id":12})").id, 12u);
  EXPECT_EQ(Fail(R"({"op":"nope","id":13})").id, 13u);
  EXPECT_EQ(Fail(R"({"op":"send","data":1,"id":14})").id, 14u);
  EXPECT_EQ(Fail(R"({"op":"send","to":[],"data":1,"id":15})").id, 15u);
}

TEST_F(CommandParserTest, IdSeenBeforeBadJsonIsReported) {
  const ParseError err = Fail(R"({"id":5,"op":"pub","room":"r","data":[1,2})");
  EXPECT_EQ(err.code, ErrorCode::kBadJson);
  EXPECT_EQ(err.id, 5u);
}

TEST_F(CommandParserTest, IdMustBeUnsignedInteger) {
  for (const char* bad :
       {"-1", "1.5", "1e2", "\"7\"", "null", "true", "[1]", "{}", "-0", "18446744073709551616"}) {
    const ParseError err = Fail(std::string(R"({"op":"ping","id":)") + bad + "}");
    EXPECT_EQ(err.code, ErrorCode::kBadCommand) << bad;
    EXPECT_EQ(err.reason, "id must be an unsigned integer") << bad;
    EXPECT_FALSE(err.id.has_value()) << bad;
  }
}

// --- other field types ---

TEST_F(CommandParserTest, WrongTypedFieldsAreBadCommand) {
  const char* cases[] = {
      R"({"op":"pub","room":"r","data":1,"echo":"yes"})",
      R"({"op":"pub","room":"r","data":1,"echo":1})",
      R"({"op":"sub","room":"r","presence":null})",
      R"({"op":"sub","room":"r","since":5})",
      R"({"op":"sub","room":"r","since":{"seq":1}})",
      R"({"op":"sub","room":"r","since":{"epoch":"e"}})",
      R"({"op":"sub","room":"r","since":{"seq":-1,"epoch":"e"}})",
      R"({"op":"sub","room":"r","since":{"seq":1,"epoch":2}})",
      R"({"op":"send","to":5,"data":1})",
      R"({"op":"send","to":"","data":1})",
      R"({"op":"send","to":["a",""],"data":1})",
      R"({"op":"send","to":["a",2],"data":1})",
      R"({"op":"send","to":{"u":"a"},"data":1})",
      R"({"op":"res","rid":5,"data":1})",
      R"({"op":"res","rid":"","data":1})",
      R"({"op":"req","to":"u","data":1,"timeout_ms":-5})",
      R"({"op":"req","to":"u","data":1,"timeout_ms":"5"})",
      // Known fields are type-checked whatever the op.
      R"({"op":"ping","room":1})",
  };
  for (const char* json : cases) EXPECT_EQ(FailCode(json), ErrorCode::kBadCommand) << json;
}

TEST_F(CommandParserTest, SinceExtraFieldsIgnored) {
  const Command& c = Ok(R"({"op":"sub","room":"r","since":{"x":[1],"seq":0,"epoch":""}})");
  ASSERT_TRUE(c.since.has_value());
  EXPECT_EQ(c.since->seq, 0u);
  EXPECT_EQ(c.since->epoch, "");
}

TEST_F(CommandParserTest, DataIsRequired) {
  for (const char* json : {R"({"op":"pub","room":"r"})", R"({"op":"send","to":"u"})",
                           R"({"op":"req","to":"u"})", R"({"op":"res","rid":"x"})"}) {
    const ParseError err = Fail(json);
    EXPECT_EQ(err.code, ErrorCode::kBadCommand) << json;
    EXPECT_EQ(err.reason, "missing data") << json;
  }
}

TEST_F(CommandParserTest, ToRules) {
  EXPECT_EQ(Fail(R"({"op":"send","data":1})").reason, "missing to");
  EXPECT_EQ(Fail(R"({"op":"req","data":1})").reason, "missing to");
  EXPECT_EQ(Fail(R"({"op":"res","data":1})").reason, "missing rid");
  const ParseError empty = Fail(R"({"op":"send","to":[],"data":1})");
  EXPECT_EQ(empty.code, ErrorCode::kBadCommand);
  EXPECT_EQ(empty.reason, "to must not be empty");
  EXPECT_EQ(FailCode(R"({"op":"req","to":["a","b"],"data":1})"), ErrorCode::kBadCommand);
}

TEST_F(CommandParserTest, TooManyTargetsIsLimit) {
  std::string json = R"({"id":4,"op":"send","data":0,"to":)" + Targets(kMaxSendTargets + 1) + "}";
  const ParseError err = Fail(json);
  EXPECT_EQ(err.code, ErrorCode::kLimit);
  EXPECT_EQ(err.id, 4u);
  // Still validated past the limit: bad JSON in entry 102 is bad_json.
  json.resize(json.size() - 2);
  json += ",tru]}";
  EXPECT_EQ(FailCode(json), ErrorCode::kBadJson);
}

// --- the top level ---

TEST_F(CommandParserTest, ValidJsonThatIsNotAnObjectIsBadCommand) {
  for (const char* json : {"[]", "[1,{\"op\":\"ping\"}]", "\"ping\"", "42", "1e400", "-0.5", "true",
                           "false", "null", "  [ ]  "}) {
    const ParseError err = Fail(json);
    EXPECT_EQ(err.code, ErrorCode::kBadCommand) << json;
    EXPECT_FALSE(err.id.has_value());
  }
}

TEST_F(CommandParserTest, InvalidJsonIsBadJson) {
  const std::string cases[] = {
      "",
      "   ",
      "{",
      "}",
      "{\"op\":\"ping\"",
      "{\"op\":\"ping\"} x",
      "{\"op\":\"ping\"}}",
      "{\"op\":\"ping\"}{}",
      "{\"op\":\"ping\"} 1",
      "{\"op\":\"ping\",}",
      "{\"op\" \"ping\"}",
      "{\"op\":\"ping\" \"id\":1}",
      "{'op':'ping'}",
      "{op:\"ping\"}",
      "{\"op\":\"ping\",\"x\":[1,2}",
      "{\"op\":\"ping\",\"x\":{\"a\":1}",
      "{\"op\":\"ping\",\"x\":[1,2,tru]}",
      "{\"op\":\"ping\",\"x\":nul}",
      "{\"op\":\"ping\",\"x\":falsey}",
      "{\"op\":\"ping\",\"x\":01}",
      "{\"op\":\"ping\",\"x\":1.}",
      "{\"op\":\"ping\",\"x\":-}",
      "{\"op\":\"ping\",\"x\":.5}",
      "{\"op\":\"ping\",\"x\":+1}",
      "{\"op\":\"ping\",\"x\":1e}",
      "{\"op\":\"ping\",\"x\":NaN}",
      "{\"op\":\"ping\",\"x\":\"\\q\"}",
      "{\"op\":\"ping\",\"x\":\"\\ud800\"}",
      "{\"op\":\"ping\",\"x\\q\":1}",
      "{\"op\":\"ping\",\"x\":{\"a\\x\":1}}",
      std::string("{\"op\":\"ping\",\"x\":\"a\x01\"}"),
      std::string("{\"op\":\"ping\",\"x\":\"\xff\"}"),
      std::string("{\"op\":\"ping\",\"x\":\"a\0\"}", 22),
      "{\"op\":\"ping\",\"id\":12x}",
      "[1,2",
      "12x",
      "\"abc\" 1",
      "nul",
  };
  for (const std::string& json : cases) {
    EXPECT_EQ(FailCode(json), ErrorCode::kBadJson) << json;
  }
}

TEST_F(CommandParserTest, BadJsonWinsOverBadCommand) {
  EXPECT_EQ(FailCode(R"({"op":"nope","room":5,"x":[})"), ErrorCode::kBadJson);
  EXPECT_EQ(FailCode(R"({"op":"nope","room":5} garbage)"), ErrorCode::kBadJson);
}

TEST_F(CommandParserTest, NestingIsLimitedTo64) {
  // The command object is level 1, so data may open 63 more levels.
  const auto nested = [](size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_EQ(PubData(nested(kMaxJsonDepth - 1)), nested(kMaxJsonDepth - 1));
  EXPECT_EQ(FailCode(R"({"op":"pub","room":"r","data":)" + nested(kMaxJsonDepth) + "}"),
            ErrorCode::kBadJson);
  EXPECT_EQ(FailCode(R"({"op":"ping","x":)" + nested(1000) + "}"), ErrorCode::kBadJson);
  std::string objects = R"({"op":"ping","x":)";
  for (size_t i = 0; i < kMaxJsonDepth; ++i) objects += R"({"a":)";
  objects += '1';
  objects.append(kMaxJsonDepth + 1, '}');
  EXPECT_EQ(FailCode(objects), ErrorCode::kBadJson);
}

TEST_F(CommandParserTest, OverSixteenMebibytesIsTooLarge) {
  const std::string prefix = R"({"op":"pub","room":"r","data":")";
  std::string huge = prefix;
  huge.append(kMaxCommandBytes - prefix.size() - 2, 'x');
  huge += "\"}";
  ASSERT_EQ(huge.size(), kMaxCommandBytes);
  EXPECT_EQ(Ok(huge).data.size(), kMaxCommandBytes - prefix.size());
  huge.push_back(' ');  // one byte too many, even if it is only a blank
  EXPECT_EQ(FailCode(huge), ErrorCode::kTooLarge);
}

// --- reuse ---

TEST_F(CommandParserTest, ResetsCommandBetweenParses) {
  Ok(R"({"op":"sub","id":1,"room":"r","since":{"seq":1,"epoch":"e"},"presence":true})");
  const Command& c = Ok(R"({"op":"send","to":"u","data":1})");
  EXPECT_FALSE(c.id.has_value());
  EXPECT_TRUE(c.room.empty());
  EXPECT_FALSE(c.since.has_value());
  EXPECT_FALSE(c.presence);
  EXPECT_EQ(c.to.size(), 1u);
  const Command& d = Ok(R"({"op":"ping"})");
  EXPECT_TRUE(d.to.empty());
  EXPECT_TRUE(d.data.empty());
}

TEST_F(CommandParserTest, ViewsDoNotPointIntoTheInput) {
  std::string json = R"({"op":"pub","room":"r","data":{"a":1}})";
  const Command& c = Ok(json);
  json.assign(json.size(), '#');  // the caller may reuse its buffer right away
  EXPECT_EQ(c.room, "r");
  EXPECT_EQ(c.data, R"({"a":1})");
}

TEST_F(CommandParserTest, ErrorReasonSurvivesUntilNextParse) {
  // The reason quotes the input; it must still read right once the caller reuses its buffer.
  std::string json = R"({"op":"frobnicate"})";
  const ParseError err = Fail(json);
  json.assign(json.size(), '#');
  EXPECT_EQ(err.reason, "unknown op 'frobnicate'");
}

// --- ForEachCommandLine ---

std::vector<std::string> Lines(std::string_view message) {
  std::vector<std::string> lines;
  ForEachCommandLine(message, [&lines](std::string_view line) { lines.emplace_back(line); });
  return lines;
}

TEST(ForEachCommandLineTest, SplitsOnNewlines) {
  EXPECT_EQ(Lines("a\nb\nc"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Lines("single"), (std::vector<std::string>{"single"}));
}

TEST(ForEachCommandLineTest, SkipsBlankLinesAndStripsCr) {
  EXPECT_EQ(Lines("\n\na\r\n\r\n  \t \nb\r\n\n"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Lines("x\r"), (std::vector<std::string>{"x"}));
  EXPECT_EQ(Lines(" x \r\n"), (std::vector<std::string>{" x "}));
}

TEST(ForEachCommandLineTest, NothingForEmptyOrBlankMessages) {
  EXPECT_TRUE(Lines("").empty());
  EXPECT_TRUE(Lines("\n").empty());
  EXPECT_TRUE(Lines("\r\n \r\n\n").empty());
}

TEST(ForEachCommandLineTest, StopsWhenCallbackReturnsFalse) {
  int calls = 0;
  ForEachCommandLine("a\nb\nc", [&calls](std::string_view) { return ++calls < 2; });
  EXPECT_EQ(calls, 2);
}

TEST(ForEachCommandLineTest, ParsesEveryCommandOfAFrame) {
  CommandParser parser;
  Command cmd;
  std::vector<Op> ops;
  std::vector<ErrorCode> errors;
  ForEachCommandLine(
      "{\"op\":\"sub\",\"room\":\"a\"}\r\n\n{\"op\":\"pub\",\"room\":\"a\",\"data\":\"x\\ny\"}\n"
      "{bad\n{\"op\":\"ping\",\"id\":1}",
      [&](std::string_view line) {
        if (auto err = parser.Parse(line, &cmd)) {
          errors.push_back(err->code);
        } else {
          ops.push_back(cmd.op);
        }
      });
  EXPECT_EQ(ops, (std::vector<Op>{Op::kSub, Op::kPub, Op::kPing}));
  EXPECT_EQ(errors, (std::vector<ErrorCode>{ErrorCode::kBadJson}));
}

}  // namespace
}  // namespace ringcast::proto
