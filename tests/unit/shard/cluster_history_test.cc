// The pure parts of shard/cluster_history.h; the scripts themselves run
// against a real redis-server in tests/e2e/cluster_history_test.cc.
#include "shard/cluster_history.h"

#include <gtest/gtest.h>

#include "proto/envelope.h"

namespace ringcast::shard {
namespace {

TEST(SplitMsgAtSeqTest, PrefixSeqSuffixIsTheEnvelope) {
  for (const char* room : {"chat:1", "quote\"room", "{tag}", "ünï", "\"seq\":0,"}) {
    MsgAroundSeq parts = SplitMsgAtSeq(room, "al\"ice", R"({"x":[1,2]})");
    std::string want;
    proto::WriteMsg(&want, room, uint64_t{1234567}, "al\"ice", R"({"x":[1,2]})");
    EXPECT_EQ(parts.prefix + "1234567" + parts.suffix, want) << room;
  }
}

TEST(RenderMessageTest, FillsSeqAndEpoch) {
  using K = MessagePart::Kind;
  const std::vector<MessagePart> parts = {{K::kText, "rc1 p n1 "}, {K::kSeq, ""},
                                          {K::kText, " 0\n"},      {K::kEpochPrefixed, ""},
                                          {K::kText, "|"},         {K::kEpoch, ""}};
  EXPECT_EQ(RenderMessage(parts, 42, "abc"), "rc1 p n1 42 0\n3:abc|abc");
  EXPECT_EQ(RenderMessage({}, 1, "e"), "");
}

TEST(ClusterHistoryArgvTest, PublishCarriesKeysSettingsAndParts) {
  ClusterPartitions partitions(4);
  ClusterKeys keys(&partitions);
  ClusterHistory history;
  const RoomKeys k = keys.Room("r");
  const std::vector<MessagePart> parts = {{MessagePart::Kind::kText, "x"},
                                          {MessagePart::Kind::kSeq, ""}};
  std::vector<std::string> argv = history.Publish(k, HistorySettings{100, 5000, 60000}, "cand", 77,
                                                  true, MsgAroundSeq{"<", ">"}, parts);
  const std::vector<std::string> want = {"EVALSHA",  history.publish_script().sha1(),
                                         "2",        k.meta,
                                         k.stream,   "cand",
                                         "100",      "5000",
                                         "60000",    "77",
                                         "SPUBLISH", k.channel,
                                         "<",        ">",
                                         "t",        "x",
                                         "q",        ""};
  EXPECT_EQ(argv, want);
  history.publish_script().ToEval(&argv);
  EXPECT_EQ(argv[0], "EVAL");
  EXPECT_EQ(argv[1], history.publish_script().source());
  EXPECT_EQ(history.publish_script().sha1().size(), 40u);
  EXPECT_NE(history.publish_script().sha1(), history.read_script().sha1());
}

TEST(ClusterEpochTest, NewEpochIsSixteenHexDigits) {
  EXPECT_EQ(ClusterHistory::NewEpoch(0xabcull), "0000000000000abc");
  EXPECT_NE(ClusterHistory::NewEpoch(1), ClusterHistory::NewEpoch(2));
}

}  // namespace
}  // namespace ringcast::shard
