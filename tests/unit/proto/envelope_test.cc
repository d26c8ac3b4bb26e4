#include "proto/envelope.h"

#include <gtest/gtest.h>

#include <string>

#include "core/wire.h"

namespace ringcast::proto {
namespace {

using wire::CloseCode;
using wire::ErrorCode;
using wire::ErrorCodeName;

TEST(EnvelopeTest, Welcome) {
  std::string out;
  WriteWelcome(&out, "s1", "alice", "node-a");
  EXPECT_EQ(out, R"({"op":"welcome","sid":"s1","user":"alice","node":"node-a","v":1})");
}

TEST(EnvelopeTest, OkWithAndWithoutId) {
  std::string out;
  WriteOk(&out, 7);
  EXPECT_EQ(out, R"({"op":"ok","id":7})");
  out.clear();
  WriteOk(&out, std::nullopt);
  EXPECT_EQ(out, R"({"op":"ok"})");
}

TEST(EnvelopeTest, ErrorCarriesCodeNameAndEscapedReason) {
  std::string out;
  WriteError(&out, 3, ErrorCode::kBadCommand, "unknown op 'fo\"o'");
  EXPECT_EQ(out, R"({"op":"error","id":3,"code":"bad_command","reason":"unknown op 'fo\"o'"})");
  out.clear();
  WriteError(&out, std::nullopt, ErrorCode::kBadJson, "line\nbreak");
  EXPECT_EQ(out, R"({"op":"error","code":"bad_json","reason":"line\nbreak"})");
}

TEST(EnvelopeTest, Pong) {
  std::string out;
  WritePong(&out, 18446744073709551615u);
  EXPECT_EQ(out, R"({"op":"pong","id":18446744073709551615})");
  out.clear();
  WritePong(&out, std::nullopt);
  EXPECT_EQ(out, R"({"op":"pong"})");
}

TEST(EnvelopeTest, MsgInsertsDataVerbatim) {
  std::string out;
  WriteMsg(&out, "chat:42", 5, "bob", R"({"text":"hi \"there\"","n":[1,2.5e3]})");
  EXPECT_EQ(out, R"({"op":"msg","room":"chat:42","seq":5,"from":"bob",)"
                 R"("data":{"text":"hi \"there\"","n":[1,2.5e3]}})");
}

TEST(EnvelopeTest, MsgWithoutSeq) {
  std::string out;
  WriteMsg(&out, "caf\xc3\xa9", std::nullopt, "$server", "\"x\"");
  EXPECT_EQ(out, "{\"op\":\"msg\",\"room\":\"caf\xc3\xa9\",\"from\":\"$server\",\"data\":\"x\"}");
}

TEST(EnvelopeTest, DirectMsg) {
  std::string out;
  WriteDirectMsg(&out, "alice", "[1,null,true]");
  EXPECT_EQ(out, R"({"op":"msg","from":"alice","data":[1,null,true]})");
}

TEST(EnvelopeTest, Bye) {
  std::string out;
  WriteBye(&out, wire::CloseCode::kGoingAway, "server shutting down", true);
  EXPECT_EQ(out, R"({"op":"bye","code":1001,"reason":"server shutting down","reconnect":true})");
  out.clear();
  WriteBye(&out, wire::CloseCode::kSlowConsumer, "slow consumer", false);
  EXPECT_EQ(out, R"({"op":"bye","code":4000,"reason":"slow consumer","reconnect":false})");
}

TEST(EnvelopeTest, AppendsToExistingContent) {
  std::string out;
  WriteOk(&out, 1);
  out.push_back('\n');
  WritePong(&out, 2);
  EXPECT_EQ(out, "{\"op\":\"ok\",\"id\":1}\n{\"op\":\"pong\",\"id\":2}");
}

TEST(ErrorCodeTest, NamesMatchProtocol) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kBadJson), "bad_json");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kBadCommand), "bad_command");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kNotAllowed), "not_allowed");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kTooLarge), "too_large");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kRateLimited), "rate_limited");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kNoSuchUser), "no_such_user");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kTimeout), "timeout");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kLimit), "limit");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInternal), "internal");
}

}  // namespace
}  // namespace ringcast::proto
