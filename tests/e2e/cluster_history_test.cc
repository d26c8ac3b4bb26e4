// The history scripts of cluster mode (shard/cluster_history.h) run on a real
// redis-server: seq and epoch, trimming, expiry, recovery, and the message the
// script publishes on the room's channel.
#include "shard/cluster_history.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "proto/envelope.h"
#include "tests/support/redis_script_test.h"

namespace ringcast::shard {
namespace {

using testing::RedisSubscriber;
using testing::RedisSync;

class ClusterHistoryTest : public testing::RedisScriptTest {
 protected:
  PublishedSeq Publish(const std::string& room, const std::string& data, uint64_t now_ms = 1000,
                       const std::string& epoch = "e-candidate") {
    RedisSync::Reply r = Run(history_.Publish(keys_.Room(room), settings_, epoch, now_ms, false,
                                              SplitMsgAtSeq(room, "alice", data), kParts),
                             history_.publish_script());
    auto parsed = ClusterHistory::ParsePublish(r.get());
    EXPECT_TRUE(parsed) << (r ? std::string(r->str ? r->str : "non-string reply") : "no reply");
    return parsed.value_or(PublishedSeq{});
  }

  HistoryRead Read(const std::string& room, std::optional<Since> since, uint64_t now_ms = 1000,
                   const std::string& epoch = "e-fresh") {
    RedisSync::Reply r = Run(history_.Read(keys_.Room(room), settings_, epoch, now_ms, since),
                             history_.read_script());
    auto parsed = ClusterHistory::ParseRead(r.get());
    EXPECT_TRUE(parsed) << (r ? std::string(r->str ? r->str : "non-string reply") : "no reply");
    return parsed.value_or(HistoryRead{});
  }

  // A channel message in the shape of the backplane's: a header with the
  // seq, the epoch length-prefixed, then the body.
  static inline const std::vector<MessagePart> kParts = {
      {MessagePart::Kind::kText, "rc1 p node-a "},
      {MessagePart::Kind::kSeq, ""},
      {MessagePart::Kind::kText, " 0\n"},
      {MessagePart::Kind::kEpochPrefixed, ""},
      {MessagePart::Kind::kText, "|"},
      {MessagePart::Kind::kEpoch, ""},
      {MessagePart::Kind::kText, "\nbody"}};

  static std::string Msg(const std::string& room, uint64_t seq, const std::string& data) {
    std::string out;
    proto::WriteMsg(&out, room, seq, "alice", data);
    return out;
  }

  ClusterPartitions partitions_{16};
  ClusterKeys keys_{&partitions_};
  ClusterHistory history_;
  HistorySettings settings_{5, 0, 0};
};

TEST_F(ClusterHistoryTest, SeqIncrementsAndTheEpochSurvives) {
  PublishedSeq first = Publish("chat:1", "1", 1000, "epoch-one");
  EXPECT_EQ(first.seq, 1u);
  EXPECT_EQ(first.epoch, "epoch-one");
  // A later candidate does not replace the room's epoch.
  PublishedSeq second = Publish("chat:1", "2", 1000, "epoch-two");
  EXPECT_EQ(second.seq, 2u);
  EXPECT_EQ(second.epoch, "epoch-one");
  // Rooms count on their own.
  EXPECT_EQ(Publish("chat:2", "1").seq, 1u);
  // The first call loaded the script (NOSCRIPT, then EVAL); later ones hit the cache.
  EXPECT_EQ(noscript_, 1);
  HistoryRead now = Read("chat:1", std::nullopt);
  EXPECT_EQ(now.seq, 2u);
  EXPECT_EQ(now.epoch, "epoch-one");
  EXPECT_TRUE(now.entries.empty());
}

TEST_F(ClusterHistoryTest, TheShaIsWhatRedisComputes) {
  EXPECT_EQ(client_->Text(history_.publish_script().Load()), history_.publish_script().sha1());
  EXPECT_EQ(client_->Text(history_.read_script().Load()), history_.read_script().sha1());
}

TEST_F(ClusterHistoryTest, ALostMetaKeyStartsANewEpoch) {
  Publish("chat:1", "1", 1000, "old");
  Publish("chat:1", "2", 1000, "old");
  ASSERT_EQ(client_->Text({"DEL", keys_.Room("chat:1").meta}), "1");
  PublishedSeq after = Publish("chat:1", "3", 1000, "new");
  EXPECT_EQ(after.epoch, "new");
  EXPECT_EQ(after.seq, 1u);
  // The old stream went with the old epoch: only the new entry is there.
  EXPECT_EQ(client_->Text({"XLEN", keys_.Room("chat:1").stream}), "1");
  // A client of the old epoch cannot recover, and gets no entries of the new one.
  HistoryRead r = Read("chat:1", Since{2, "old"});
  EXPECT_FALSE(r.recovered);
  EXPECT_EQ(r.epoch, "new");
  EXPECT_TRUE(r.entries.empty());
}

TEST_F(ClusterHistoryTest, AStreamThatOutlivedItsMetaStartsANewEpoch) {
  // Seed a stream with a higher id than the meta would start at.
  const RoomKeys k = keys_.Room("chat:1");
  ASSERT_EQ(client_->Text({"XADD", k.stream, "7-0", "t", "1", "m", "x"}), "7-0");
  ASSERT_EQ(client_->Text({"HSET", k.meta, "epoch", "kept", "seq", "2"}), "2");
  PublishedSeq p = Publish("chat:1", "1", 1000, "fresh");
  EXPECT_EQ(p.epoch, "fresh");
  EXPECT_EQ(p.seq, 1u);
  EXPECT_EQ(client_->Text({"XLEN", k.stream}), "1");
}

TEST_F(ClusterHistoryTest, RecoveryAfterASeqReturnsExactlyTheMissingEntries) {
  for (int i = 1; i <= 4; ++i) Publish("chat:1", std::to_string(i), 1000, "e1");
  HistoryRead r = Read("chat:1", Since{2, "e1"});
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(r.seq, 4u);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].seq, 3u);
  EXPECT_EQ(r.entries[0].envelope, Msg("chat:1", 3, "3"));
  EXPECT_EQ(r.entries[1].seq, 4u);
  EXPECT_EQ(r.entries[1].envelope, Msg("chat:1", 4, "4"));
  // Up to date: nothing to replay, and that is complete.
  HistoryRead current = Read("chat:1", Since{4, "e1"});
  EXPECT_TRUE(current.recovered);
  EXPECT_TRUE(current.entries.empty());
  // From seq 0 (saw nothing yet) while everything is still kept.
  EXPECT_TRUE(Read("chat:1", Since{0, "e1"}).recovered);
  // A seq from the future is not a state this epoch ever had.
  EXPECT_FALSE(Read("chat:1", Since{9, "e1"}).recovered);
  // Another epoch: no entries, not recovered.
  HistoryRead other = Read("chat:1", Since{2, "e0"});
  EXPECT_FALSE(other.recovered);
  EXPECT_TRUE(other.entries.empty());
}

TEST_F(ClusterHistoryTest, TrimmingBeyondTheCapMakesRecoveryFail) {
  // The cap is 5: after 8 publications seqs 4..8 remain.
  for (int i = 1; i <= 8; ++i) Publish("chat:1", std::to_string(i), 1000, "e1");
  EXPECT_EQ(client_->Text({"XLEN", keys_.Room("chat:1").stream}), "5");
  HistoryRead lost = Read("chat:1", Since{2, "e1"});
  EXPECT_FALSE(lost.recovered);
  // What is still there comes back anyway, in order.
  ASSERT_EQ(lost.entries.size(), 5u);
  EXPECT_EQ(lost.entries.front().seq, 4u);
  EXPECT_EQ(lost.entries.back().seq, 8u);
  // Seq 3 seen: 4.. is all there.
  HistoryRead kept = Read("chat:1", Since{3, "e1"});
  EXPECT_TRUE(kept.recovered);
  EXPECT_EQ(kept.entries.size(), 5u);
}

TEST_F(ClusterHistoryTest, AHoleInTheStreamMakesRecoveryFail) {
  for (int i = 1; i <= 4; ++i) Publish("chat:1", std::to_string(i), 1000, "e1");
  ASSERT_EQ(client_->Text({"XDEL", keys_.Room("chat:1").stream, "3-0"}), "1");
  HistoryRead r = Read("chat:1", Since{1, "e1"});
  EXPECT_FALSE(r.recovered);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].seq, 2u);
  EXPECT_EQ(r.entries[1].seq, 4u);
}

TEST_F(ClusterHistoryTest, EntriesOlderThanTheTtlDoNotCount) {
  settings_.entry_ttl_ms = 10'000;
  Publish("chat:1", "1", 1'000, "e1");
  Publish("chat:1", "2", 5'000, "e1");
  Publish("chat:1", "3", 9'000, "e1");
  // At 12 000 the first entry (published at 1 000) has expired, the others not.
  HistoryRead r = Read("chat:1", Since{0, "e1"}, 12'000);
  EXPECT_FALSE(r.recovered);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].seq, 2u);
  EXPECT_TRUE(Read("chat:1", Since{1, "e1"}, 12'000).recovered);
  // The keys themselves carry the TTL.
  const int64_t pttl = std::stoll(client_->Text({"PTTL", keys_.Room("chat:1").stream}));
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 10'000);
}

TEST_F(ClusterHistoryTest, ReadingARoomWithoutHistoryCreatesItsEpoch) {
  HistoryRead first = Read("chat:9", std::nullopt, 1000, "made-by-read");
  EXPECT_EQ(first.epoch, "made-by-read");
  EXPECT_EQ(first.seq, 0u);
  // The next publication continues that epoch, so a subscriber's `ok` stays valid.
  PublishedSeq p = Publish("chat:9", "1", 1000, "other");
  EXPECT_EQ(p.epoch, "made-by-read");
  EXPECT_EQ(p.seq, 1u);
  HistoryRead r = Read("chat:9", Since{0, "made-by-read"});
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(r.entries.size(), 1u);
}

TEST_F(ClusterHistoryTest, MetaTtlIsSet) {
  settings_.meta_ttl_ms = 60'000;
  Publish("chat:1", "1");
  const int64_t pttl = std::stoll(client_->Text({"PTTL", keys_.Room("chat:1").meta}));
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 60'000);
  settings_.meta_ttl_ms = 0;
  Publish("chat:2", "1");
  EXPECT_EQ(client_->Text({"PTTL", keys_.Room("chat:2").meta}), "-1");
}

TEST_F(ClusterHistoryTest, ASubscriberGetsTheMessageWithSeqAndEpoch) {
  RedisSubscriber sub(redis_.port(), keys_.Room("chat:{x} y").channel);
  ASSERT_TRUE(sub.ok());
  Publish("chat:{x} y", R"({"a":1})", 1000, "e1");
  Publish("chat:{x} y", "2", 1000, "e1");
  for (uint64_t seq = 1; seq <= 2; ++seq) {
    EXPECT_EQ(sub.Next(), RenderMessage(kParts, seq, "e1"));
  }
  EXPECT_EQ(RenderMessage(kParts, 2, "e1"), "rc1 p node-a 2 0\n2:e1|e1\nbody");
  // The stream keeps the subscribers' envelope, seq included.
  HistoryRead r = Read("chat:{x} y", Since{0, "e1"});
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].envelope, Msg("chat:{x} y", 1, R"({"a":1})"));
}

}  // namespace
}  // namespace ringcast::shard
