#include "shard/requests.h"

#include <gtest/gtest.h>

#include <set>

namespace ringcast::shard {
namespace {

constexpr core::SlabHandle kConn{3, 9};
constexpr uint64_t kTag = 0x0123456789abcdefull;

TEST(RequestsTest, SendFinishesOnceEveryOwnerAnsweredAndSumsReached) {
  Requests r;
  auto started = r.StartSend(kConn, 7, 3);
  ASSERT_TRUE(started);
  auto id = &started.id;
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
  auto a = r.StartSend(kConn, 1, 1).id;
  auto b = r.StartSend({4, 0}, 2, 2, /*request=*/11).id;
  ASSERT_TRUE(a != 0 && b != 0);
  EXPECT_NE(a, b);
  EXPECT_FALSE(r.OnSendAnswer(b, 1).has_value());
  auto done_a = r.OnSendAnswer(a, 4);
  ASSERT_TRUE(done_a.has_value());
  EXPECT_EQ(done_a->reached, 4u);
  auto done_b = r.OnSendAnswer(b, 1);
  ASSERT_TRUE(done_b.has_value());
  EXPECT_EQ(done_b->reached, 2u);
  EXPECT_EQ(done_b->request, 11u);
  EXPECT_EQ(done_b->conn, (core::SlabHandle{4, 0}));
}

TEST(RequestsTest, FirstAnswerTakesTheRequestAndLaterOnesFindNothing) {
  Requests r;
  auto n = r.StartRequest(kConn, 5, "alice", "bob", kTag).id;
  ASSERT_NE(n, 0u);
  EXPECT_EQ(r.pending_requests(), 1u);
  Verdict verdict = Verdict::kTaken;
  auto first = r.TakeAnswer(n, kTag, "bob", &verdict);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(verdict, Verdict::kTaken);
  EXPECT_EQ(first->conn, kConn);
  EXPECT_EQ(first->ticket, 5u);
  EXPECT_EQ(first->target, "bob");
  EXPECT_FALSE(r.TakeAnswer(n, kTag, "bob", &verdict).has_value());
  EXPECT_EQ(verdict, Verdict::kNotPending);
  EXPECT_FALSE(r.TakeRequest(n).has_value());
  EXPECT_EQ(r.pending_requests(), 0u);
  EXPECT_FALSE(r.TakeRequest(0).has_value());
  EXPECT_EQ(r.tracked_connections(), 0u);
  EXPECT_EQ(r.tracked_users(), 0u);
}

// Only the user the request went to, naming its tag, takes it; anything else
// is refused and leaves the request waiting for the real answer.
TEST(RequestsTest, AnswerFromAnotherUserOrWithAnotherTagIsRefused) {
  Requests r;
  auto n = r.StartRequest(kConn, 5, "alice", "bob", kTag).id;
  Verdict verdict = Verdict::kTaken;
  EXPECT_FALSE(r.TakeAnswer(n, kTag, "carol", &verdict).has_value());
  EXPECT_EQ(verdict, Verdict::kNotYours);
  EXPECT_FALSE(r.TakeAnswer(n, kTag ^ 1, "bob", &verdict).has_value());
  EXPECT_EQ(verdict, Verdict::kNotYours);
  EXPECT_FALSE(r.TakeAnswer(n, kTag, "", &verdict).has_value());
  EXPECT_EQ(verdict, Verdict::kNotYours);
  EXPECT_EQ(r.pending_requests(), 1u);
  EXPECT_TRUE(r.TakeAnswer(n, kTag, "bob", &verdict).has_value());
  EXPECT_EQ(verdict, Verdict::kTaken);
}

TEST(RequestsTest, FullTablesRefuseUntilAnEntryFinishes) {
  RequestLimits limits;
  limits.pending_sends = 2;
  limits.pending_requests = 1;
  Requests r(limits);
  auto s1 = r.StartSend(kConn, 1, 1).id;
  auto s2 = r.StartSend({4, 0}, 2, 1).id;
  ASSERT_TRUE(s1 != 0 && s2 != 0);
  EXPECT_EQ(r.StartSend(kConn, 3, 1).refusal, PendingBound::kShard);
  EXPECT_EQ(r.pending_sends(), 2u);
  ASSERT_TRUE(r.OnSendAnswer(s1, 0).has_value());
  EXPECT_TRUE(r.StartSend(kConn, 3, 1));

  auto q1 = r.StartRequest(kConn, 1, "alice", "bob", kTag).id;
  ASSERT_NE(q1, 0u);
  EXPECT_EQ(r.StartRequest({4, 0}, 2, "carol", "bob", kTag).refusal, PendingBound::kShard);
  EXPECT_EQ(r.pending_requests(), 1u);
  ASSERT_TRUE(r.TakeRequest(q1).has_value());
  EXPECT_TRUE(r.StartRequest({4, 0}, 2, "carol", "bob", kTag));
}

// One connection at its own bound leaves room for every other connection.
TEST(RequestsTest, EachConnectionHasItsOwnBound) {
  RequestLimits limits;
  limits.sends_per_connection = 2;
  limits.requests_per_connection = 2;
  Requests r(limits);
  constexpr core::SlabHandle kOther{4, 1};
  uint32_t q1 = r.StartRequest(kConn, 1, "alice", "bob", kTag).id;
  ASSERT_TRUE(r.StartRequest(kConn, 2, "alice", "bob", kTag));
  EXPECT_EQ(r.StartRequest(kConn, 3, "alice", "bob", kTag).refusal, PendingBound::kConnection);
  EXPECT_TRUE(r.StartRequest(kOther, 1, "carol", "bob", kTag));
  ASSERT_TRUE(r.TakeRequest(q1).has_value());
  EXPECT_TRUE(r.StartRequest(kConn, 3, "alice", "bob", kTag));

  uint32_t s1 = r.StartSend(kConn, 1, 1).id;
  ASSERT_TRUE(r.StartSend(kConn, 2, 1));
  EXPECT_EQ(r.StartSend(kConn, 3, 1).refusal, PendingBound::kConnection);
  EXPECT_TRUE(r.StartSend(kOther, 1, 1));
  ASSERT_TRUE(r.OnSendAnswer(s1, 1).has_value());
  EXPECT_TRUE(r.StartSend(kConn, 3, 1));
}

// A user's connections share one bound; the server's (no requester) do not count.
TEST(RequestsTest, OneUsersConnectionsShareTheUserBound) {
  RequestLimits limits;
  limits.requests_per_user = 3;
  Requests r(limits);
  uint32_t first = 0;
  for (uint32_t slot = 0; slot < 3; ++slot) {
    uint32_t n = r.StartRequest({slot, 1}, 1, "mallory", "bob", kTag).id;
    ASSERT_NE(n, 0u);
    if (first == 0) first = n;
  }
  EXPECT_EQ(r.StartRequest({9, 1}, 1, "mallory", "bob", kTag).refusal, PendingBound::kUser);
  EXPECT_TRUE(r.StartRequest({9, 1}, 1, "alice", "bob", kTag));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(r.StartRequest({10, 1}, 1, "", "bob", kTag));
  ASSERT_TRUE(r.TakeRequest(first).has_value());
  EXPECT_TRUE(r.StartRequest({9, 1}, 1, "mallory", "bob", kTag));
}

// A freed connection's requests go, and its bound with them.
TEST(RequestsTest, DroppingAConnectionDropsItsRequestsOnly) {
  RequestLimits limits;
  limits.requests_per_connection = 2;
  Requests r(limits);
  constexpr core::SlabHandle kOther{4, 1};
  uint32_t a1 = r.StartRequest(kConn, 1, "alice", "bob", kTag).id;
  uint32_t a2 = r.StartRequest(kConn, 2, "alice", "bob", kTag).id;
  uint32_t b = r.StartRequest(kOther, 1, "carol", "bob", kTag).id;
  uint32_t send = r.StartSend(kConn, 3, 1).id;
  ASSERT_TRUE(a1 != 0 && a2 != 0 && b != 0 && send != 0);
  r.DropConnection(kConn);
  EXPECT_FALSE(r.TakeRequest(a1).has_value());
  EXPECT_FALSE(r.TakeRequest(a2).has_value());
  EXPECT_EQ(r.pending_requests(), 1u);
  EXPECT_EQ(r.tracked_users(), 1u) << "alice's count went with her requests";
  EXPECT_TRUE(r.OnSendAnswer(send, 1).has_value()) << "a send drains as its owners answer";
  EXPECT_EQ(r.tracked_connections(), 1u);
  ASSERT_TRUE(r.TakeRequest(b).has_value());
  EXPECT_EQ(r.tracked_connections(), 0u);
  EXPECT_EQ(r.tracked_users(), 0u);
}

// Ids name entries on other shards' answers: never 0 (which means "none")
// and never the id of another pending entry.
TEST(RequestsTest, IdsAreNonZeroAndDistinctAmongPending) {
  Requests r;
  std::set<uint32_t> sends, requests;
  for (uint32_t i = 0; i < 1000; ++i) {
    core::SlabHandle conn{i, 1};  // within the per-connection bounds
    auto s = r.StartSend(conn, 0, 2).id;
    auto q = r.StartRequest(conn, 0, "", "bob", kTag).id;
    ASSERT_TRUE(s != 0 && q != 0);
    EXPECT_TRUE(sends.insert(s).second);
    EXPECT_TRUE(requests.insert(q).second);
  }
  EXPECT_EQ(r.pending_sends(), 1000u);
  EXPECT_EQ(r.pending_requests(), 1000u);
}

}  // namespace
}  // namespace ringcast::shard
