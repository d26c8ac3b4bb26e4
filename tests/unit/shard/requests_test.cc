#include "shard/requests.h"

#include <gtest/gtest.h>

#include <set>

namespace ringcast::shard {
namespace {

constexpr core::SlabHandle kConn{3, 9};

TEST(RequestsTest, SendFinishesOnceEveryOwnerAnsweredAndSumsReached) {
  Requests r;
  auto id = r.StartSend(kConn, 7, 3);
  ASSERT_TRUE(id.has_value());
  EXPECT_NE(*id, 0u);
  EXPECT_EQ(r.pending_sends(), 1u);
  EXPECT_FALSE(r.OnSendAnswer(*id, 2).has_value());
  EXPECT_FALSE(r.OnSendAnswer(*id, 0).has_value());
  auto done = r.OnSendAnswer(*id, 5);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->conn, kConn);
  EXPECT_EQ(done->ticket, 7u);
  EXPECT_EQ(done->reached, 7u);
  EXPECT_EQ(done->waiting, 0u);
  EXPECT_EQ(done->request, 0u);
  EXPECT_EQ(r.pending_sends(), 0u);
  EXPECT_FALSE(r.OnSendAnswer(*id, 1).has_value());  // a late answer finds nothing
}

TEST(RequestsTest, SendsAreCountedSeparately) {
  Requests r;
  auto a = r.StartSend(kConn, 1, 1);
  auto b = r.StartSend({4, 0}, 2, 2, /*request=*/11);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_FALSE(r.OnSendAnswer(*b, 1).has_value());
  auto done_a = r.OnSendAnswer(*a, 4);
  ASSERT_TRUE(done_a.has_value());
  EXPECT_EQ(done_a->reached, 4u);
  auto done_b = r.OnSendAnswer(*b, 1);
  ASSERT_TRUE(done_b.has_value());
  EXPECT_EQ(done_b->reached, 2u);
  EXPECT_EQ(done_b->request, 11u);
  EXPECT_EQ(done_b->conn, (core::SlabHandle{4, 0}));
}

TEST(RequestsTest, SendWithoutTargetsIsRefused) {
  Requests r;
  EXPECT_FALSE(r.StartSend(kConn, 1, 0).has_value());
  EXPECT_EQ(r.pending_sends(), 0u);
}

TEST(RequestsTest, FirstAnswerTakesTheRequestAndLaterOnesFindNothing) {
  Requests r;
  auto n = r.StartRequest(kConn, 5);
  ASSERT_TRUE(n.has_value());
  EXPECT_NE(*n, 0u);
  EXPECT_EQ(r.pending_requests(), 1u);
  auto first = r.TakeRequest(*n);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->conn, kConn);
  EXPECT_EQ(first->ticket, 5u);
  EXPECT_FALSE(r.TakeRequest(*n).has_value());
  EXPECT_EQ(r.pending_requests(), 0u);
  EXPECT_FALSE(r.TakeRequest(0).has_value());
}

TEST(RequestsTest, FullTablesRefuseUntilAnEntryFinishes) {
  Requests r(RequestLimits{2, 1});
  auto s1 = r.StartSend(kConn, 1, 1);
  auto s2 = r.StartSend(kConn, 2, 1);
  ASSERT_TRUE(s1 && s2);
  EXPECT_FALSE(r.StartSend(kConn, 3, 1).has_value());
  EXPECT_EQ(r.pending_sends(), 2u);
  ASSERT_TRUE(r.OnSendAnswer(*s1, 0).has_value());
  EXPECT_TRUE(r.StartSend(kConn, 3, 1).has_value());

  auto q1 = r.StartRequest(kConn, 1);
  ASSERT_TRUE(q1.has_value());
  EXPECT_FALSE(r.StartRequest(kConn, 2).has_value());
  EXPECT_EQ(r.pending_requests(), 1u);
  ASSERT_TRUE(r.TakeRequest(*q1).has_value());
  EXPECT_TRUE(r.StartRequest(kConn, 2).has_value());
}

// Ids name entries on other shards' answers: never 0 (which means "none")
// and never the id of another pending entry.
TEST(RequestsTest, IdsAreNonZeroAndDistinctAmongPending) {
  Requests r;
  std::set<uint32_t> sends, requests;
  for (int i = 0; i < 1000; ++i) {
    auto s = r.StartSend(kConn, 0, 2);
    auto q = r.StartRequest(kConn, 0);
    ASSERT_TRUE(s && q);
    EXPECT_NE(*s, 0u);
    EXPECT_NE(*q, 0u);
    EXPECT_TRUE(sends.insert(*s).second);
    EXPECT_TRUE(requests.insert(*q).second);
  }
  EXPECT_EQ(r.pending_sends(), 1000u);
  EXPECT_EQ(r.pending_requests(), 1000u);
}

}  // namespace
}  // namespace ringcast::shard
