// ClusterEnvelope: what nodes publish to each other through Redis. Whatever
// Encode writes Decode gives back exactly; anything else is refused, since
// anyone with access to Redis may publish on our channels.
#include "shard/cluster_envelope.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ringcast::shard {
namespace {

ClusterEnvelope Sample() {
  ClusterEnvelope e;
  e.kind = ClusterEnvelope::Kind::kReq;
  e.node = "node-1.a_b";
  e.shard = 3;
  e.to_shard = 7;
  e.conn = core::SlabHandle{12345, 4000000000u};
  e.ticket = 99;
  e.number = 42;
  e.tag = 0xfedcba9876543210ull;
  e.seq = 18446744073709551615ull;
  e.echo = false;
  e.refused = true;
  e.room = "@us er:\n5";
  e.from = "";
  e.rid = "node-1.a_b/3.42.fedcba9876543210";
  e.epoch = "e1";
  e.data = std::string("{\"x\":\"1:2 \\n\"}\0tail", 19);
  return e;
}

void ExpectSame(const ClusterEnvelope& a, const ClusterEnvelope& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.node, b.node);
  EXPECT_EQ(a.shard, b.shard);
  EXPECT_EQ(a.to_shard, b.to_shard);
  EXPECT_EQ(a.conn, b.conn);
  EXPECT_EQ(a.ticket, b.ticket);
  EXPECT_EQ(a.number, b.number);
  EXPECT_EQ(a.tag, b.tag);
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.echo, b.echo);
  EXPECT_EQ(a.refused, b.refused);
  EXPECT_EQ(a.room, b.room);
  EXPECT_EQ(a.from, b.from);
  EXPECT_EQ(a.rid, b.rid);
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.data, b.data);
}

TEST(ClusterEnvelopeTest, DecodesWhatItEncodes) {
  std::string wire;
  Sample().Encode(&wire);
  std::optional<ClusterEnvelope> back = ClusterEnvelope::Decode(wire);
  ASSERT_TRUE(back);
  ExpectSame(*back, Sample());
  ClusterEnvelope plain;  // defaults: a pub with echo, empty strings
  plain.node = "n";
  plain.Encode(&wire);
  back = ClusterEnvelope::Decode(wire);
  ASSERT_TRUE(back);
  ExpectSame(*back, plain);
}

TEST(ClusterEnvelopeTest, RefusesEveryTruncationAndForeignText) {
  std::string wire;
  Sample().Encode(&wire);
  // Cut anywhere before the data: refused, never read past the end.
  size_t data_at = wire.size() - Sample().data.size();
  for (size_t n = 0; n < data_at; ++n) {
    EXPECT_FALSE(ClusterEnvelope::Decode(wire.substr(0, n))) << n;
  }
  EXPECT_FALSE(ClusterEnvelope::Decode("hello"));
  EXPECT_FALSE(ClusterEnvelope::Decode("rc2 p n 0 0 0 0 0 0 0 0 1\n0:0:0:0:"));
  EXPECT_FALSE(ClusterEnvelope::Decode("rc1 z n 0 0 0 0 0 0 0 0 1\n0:0:0:0:"));
  EXPECT_FALSE(ClusterEnvelope::Decode("rc1 p n 0 0 0 0 0 0 0 0 9\n0:0:0:0:"));
  EXPECT_FALSE(ClusterEnvelope::Decode("rc1 p n 0 0 0 0 0 0 0 0 1\n99:0:0:0:"));
  EXPECT_FALSE(ClusterEnvelope::Decode("rc1 p n -1 0 0 0 0 0 0 0 1\n0:0:0:0:"));
  EXPECT_TRUE(ClusterEnvelope::Decode("rc1 p n 0 0 0 0 0 0 0 0 1\n0:0:0:0:"));
}

TEST(ClusterEnvelopeTest, RandomBytesNeverCrashIt) {
  std::mt19937_64 rng(20261130);
  std::string wire;
  Sample().Encode(&wire);
  for (int i = 0; i < 20000; ++i) {
    std::string s = wire;
    for (int k = 0; k < 3; ++k) s[rng() % s.size()] = static_cast<char>(rng());
    std::optional<ClusterEnvelope> e = ClusterEnvelope::Decode(s);
    if (e) {  // whatever it accepts (leading zeros, say) encodes to what decodes the same
      std::string again;
      e->Encode(&again);
      std::optional<ClusterEnvelope> back = ClusterEnvelope::Decode(again);
      ASSERT_TRUE(back) << "seed 20261130, step " << i;
      ExpectSame(*back, *e);
    }
  }
}

}  // namespace
}  // namespace ringcast::shard
