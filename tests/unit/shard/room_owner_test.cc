#include "shard/room_owner.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringcast::shard {
namespace {

// Records what the owner posts instead of sending it; the recorded messages
// own their payloads, so clearing them frees what was posted.
class FakePort : public BusPort {
 public:
  FakePort(unsigned id, unsigned count) : id_(id), count_(count) {}
  unsigned shard_id() const override { return id_; }
  unsigned shard_count() const override { return count_; }
  bool Admits(unsigned) const override { return true; }
  void Post(unsigned to, BusMessage msg) override {
    EXPECT_LT(to, count_);
    posted.emplace_back(to, std::move(msg));
  }

  // The posted messages of kind T, with their targets, in posting order.
  template <class T>
  std::vector<std::pair<unsigned, T*>> All() {
    std::vector<std::pair<unsigned, T*>> out;
    for (auto& [to, msg] : posted) {
      if (auto* m = std::get_if<T>(&msg)) out.emplace_back(to, m);
    }
    return out;
  }
  // The only posted message of kind T (fails the test otherwise).
  template <class T>
  T* One(unsigned* to = nullptr) {
    auto all = All<T>();
    EXPECT_EQ(all.size(), 1u);
    if (all.size() != 1) return nullptr;
    if (to != nullptr) *to = all[0].first;
    return all[0].second;
  }

  std::vector<std::pair<unsigned, BusMessage>> posted;

 private:
  unsigned id_;
  unsigned count_;
};

std::string Payload(const core::SharedFrame* f) {
  const char* end = reinterpret_cast<const char*>(f->data()) + f->size();
  return {end - f->payload_bytes(), f->payload_bytes()};
}

constexpr uint32_t kLeaveDelayMs = 2000;
constexpr uint32_t kListedUsers = 3;  // users in one presence answer
constexpr unsigned kOwnerShard = 1;
constexpr unsigned kShards = 3;

std::map<std::string, NamespaceOptions> Tables() {
  return {
      {"hist", NamespaceOptions{3, 10, true, true}},   // 3 messages, 10 s
      {"keep", NamespaceOptions{100, 0, true, true}},  // no TTL
  };
}

class RoomOwnerTest : public testing::Test {
 protected:
  RoomOwnerTest()
      : port_(kOwnerShard, kShards),
        namespaces_(Tables()),
        owner_(&port_, namespaces_, kLeaveDelayMs, &writer_, &clock_, &stats_, HistoryLimits{},
               PresenceLimits{kListedUsers}) {}

  uint64_t now() const { return clock_.MonotonicMs(); }

  // Shard `from` asks to join `room` for one subscriber; returns the answered
  // request, taken out of the JoinAck it came back in.
  std::unique_ptr<JoinRequest> Join(std::string_view room, unsigned from,
                                    std::optional<uint64_t> since_seq = std::nullopt,
                                    std::string since_epoch = "", bool counts_conn = false,
                                    uint32_t join_epoch = 1, bool presence = false) {
    auto req = std::make_unique<JoinRequest>();
    req->room = room;
    req->room_join = true;
    req->counts_conn = counts_conn;
    req->has_conn = true;
    req->presence = presence;
    req->conn = {from, 1};
    req->ticket = 5;
    req->since_seq = since_seq;
    req->since_epoch = std::move(since_epoch);
    port_.posted.clear();
    owner_.OnJoin(bus::Join{std::move(req), join_epoch}, from, now());
    unsigned to = 99;
    bus::JoinAck* ack = port_.One<bus::JoinAck>(&to);
    EXPECT_EQ(to, from);
    if (ack == nullptr) return nullptr;
    EXPECT_EQ(ack->join_epoch, join_epoch);
    std::unique_ptr<JoinRequest> answered = std::move(ack->req);
    port_.posted.clear();
    return answered;
  }

  void Publish(std::string_view room, std::string data = R"({"x":1})", uint32_t ticket = 9,
               bool echo = true, bool refuse = false) {
    auto req = std::make_unique<PubRequest>();
    req->room = room;
    req->from = "alice";
    req->data = std::move(data);
    req->conn = {4, 2};
    req->ticket = ticket;
    req->origin = 0;
    req->echo = echo;
    owner_.OnPublish(std::move(req), refuse, now());
  }

  void SendDirect(std::string_view user_room, uint32_t send_id, std::string rid = "",
                  bool refuse = false) {
    auto req = std::make_unique<PubRequest>();
    req->room = user_room;
    req->from = "alice";
    req->data = R"("hello")";
    req->conn = {4, 2};
    req->origin = 2;
    req->direct = true;
    req->send_id = send_id;
    req->rid = std::move(rid);
    owner_.OnPublish(std::move(req), refuse, now());
  }

  // A delta from shard `from`, where after it some subscriber wants join/leave events or not.
  void Presence(std::string_view room, std::string_view user, int delta, std::string info = "",
                unsigned from = 0, bool listening = true) {
    PresenceDelta d;
    d.room = room;
    d.user = user;
    d.info_json = std::move(info);
    d.delta = delta;
    d.listening = listening;
    owner_.OnPresence(d, from, now());
  }

  std::unique_ptr<PresenceQuery> Ask(std::string_view room, unsigned from = 2) {
    auto q = std::make_unique<PresenceQuery>();
    q->room = room;
    q->conn = {7, 3};
    q->ticket = 11;
    port_.posted.clear();
    owner_.OnPresenceAsk(std::move(q), from);
    unsigned to = 99;
    bus::PresenceAnswer* a = port_.One<bus::PresenceAnswer>(&to);
    EXPECT_EQ(to, from);
    if (a == nullptr) return nullptr;
    std::unique_ptr<PresenceQuery> answered = std::move(a->query);
    port_.posted.clear();
    EXPECT_EQ(answered->conn, (core::SlabHandle{7, 3}));
    EXPECT_EQ(answered->ticket, 11u);
    return answered;
  }

  // The seq a PubAck posted to shard 0 carried (nullopt if none), clearing
  // what was posted.
  std::optional<uint64_t> AckedSeq() {
    bus::PubAck* ack = port_.One<bus::PubAck>();
    std::optional<uint64_t> seq = ack ? ack->seq : std::nullopt;
    port_.posted.clear();
    return seq;
  }

  void Advance(uint64_t ms) { clock_.Advance(ms); }
  void Tick() { owner_.Tick(now()); }
  // Ticks `ms` - 1 from now, where nothing is announced, and at `ms`, where
  // exactly `user`'s leave from lobby is.
  void ExpectLeaveAfter(uint64_t ms, std::string_view user);

  FakePort port_;
  Namespaces namespaces_;
  net::FrameWriter writer_;
  core::ManualClock clock_;
  ShardStats stats_;
  RoomOwner owner_;
};

TEST_F(RoomOwnerTest, JoinRecordsShardAndAnswersItWithTheSameRequest) {
  auto req = std::make_unique<JoinRequest>();
  req->room = "lobby";
  req->room_join = true;
  JoinRequest* sent = req.get();
  owner_.OnJoin(bus::Join{std::move(req), 42}, 2, now());
  unsigned to = 99;
  bus::JoinAck* ack = port_.One<bus::JoinAck>(&to);
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(to, 2u);
  EXPECT_EQ(ack->req.get(), sent);
  EXPECT_EQ(ack->join_epoch, 42u);
  const OwnedRoom* room = owner_.Find("lobby");
  ASSERT_NE(room, nullptr);
  EXPECT_EQ(room->shard_mask, uint64_t{1} << 2);
  EXPECT_EQ(room->history, nullptr);  // the default namespace keeps none
  EXPECT_EQ(owner_.rooms(), 1u);
}

TEST_F(RoomOwnerTest, PublishSendsOneDeliverPerSubscribingShardSharingOneFrame) {
  Join("lobby", 0);
  Join("lobby", 2);
  Publish("lobby", R"({"x":1})", /*ticket=*/9, /*echo=*/false);
  auto delivers = port_.All<bus::Deliver>();
  ASSERT_EQ(delivers.size(), 2u);
  EXPECT_EQ(delivers[0].first, 0u);
  EXPECT_EQ(delivers[1].first, 2u);
  core::SharedFrame* frame = delivers[0].second->frame.get();
  EXPECT_EQ(delivers[1].second->frame.get(), frame);  // framed once
  EXPECT_EQ(frame->refs_approx(), 2u);                // one reference per shard
  EXPECT_EQ(Payload(frame), R"({"op":"msg","room":"lobby","from":"alice","data":{"x":1}})");
  EXPECT_EQ(frame->tag(), "lobby");
  for (auto& [to, d] : delivers) {
    EXPECT_EQ(d->audience, Audience::kEveryone);
    EXPECT_EQ(d->echo, Echo::kSkipPublisher);
    EXPECT_EQ(d->origin, 0);
    EXPECT_EQ(d->publisher, (core::SlabHandle{4, 2}));
  }
  unsigned to = 99;
  bus::PubAck* ack = port_.One<bus::PubAck>(&to);
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(to, 0u);  // the publisher's shard
  EXPECT_EQ(ack->conn, (core::SlabHandle{4, 2}));
  EXPECT_EQ(ack->ticket, 9u);
  EXPECT_EQ(ack->outcome, Outcome::kAccepted);
  EXPECT_FALSE(ack->seq.has_value());  // no history, no seq
  EXPECT_EQ(stats_.publications.load(), 1u);
  port_.posted.pop_back();
  port_.posted.pop_back();
  EXPECT_EQ(frame->refs_approx(), 1u);  // each Deliver dropped its own
}

TEST_F(RoomOwnerTest, EchoFlagFollowsThePublication) {
  Join("lobby", 2);
  Publish("lobby", "1", 9, /*echo=*/true);
  bus::Deliver* d = port_.One<bus::Deliver>();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->echo, Echo::kYes);
}

TEST_F(RoomOwnerTest, PublishWithoutTicketOrSubscribersPostsNothingNeedless) {
  Publish("empty", "1", /*ticket=*/0);
  EXPECT_TRUE(port_.posted.empty());
  EXPECT_EQ(owner_.rooms(), 0u);  // a room without history is not created by publishing
  Publish("empty", "1", /*ticket=*/3);
  ASSERT_EQ(port_.posted.size(), 1u);
  EXPECT_EQ(port_.One<bus::PubAck>()->outcome, Outcome::kAccepted);
  EXPECT_EQ(stats_.publications.load(), 0u);
}

TEST_F(RoomOwnerTest, JoinAckGoesAheadOfLaterDeliveries) {
  auto req = std::make_unique<JoinRequest>();
  req->room = "lobby";
  req->room_join = true;
  owner_.OnJoin(bus::Join{std::move(req), 1}, 2, now());
  Publish("lobby");
  ASSERT_GE(port_.posted.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<bus::JoinAck>(port_.posted[0].second));
  EXPECT_TRUE(std::holds_alternative<bus::Deliver>(port_.posted[1].second));
}

TEST_F(RoomOwnerTest, HistoryRoomNumbersPublicationsAndAcksTheSeq) {
  auto first = Join("hist:a", 2);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->seq, 0u);
  EXPECT_FALSE(first->epoch.empty());
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    Publish("hist:a", "[" + std::to_string(seq) + "]");
    bus::Deliver* d = port_.One<bus::Deliver>();
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(Payload(d->frame.get()), R"({"op":"msg","room":"hist:a","seq":)" +
                                           std::to_string(seq) + R"(,"from":"alice","data":[)" +
                                           std::to_string(seq) + "]}");
    EXPECT_EQ(d->frame->refs_approx(), 2u);  // the delivery's and the history's
    EXPECT_EQ(AckedSeq(), seq);
  }
  EXPECT_EQ(owner_.Find("hist:a")->history->size(), 3u);
  // A publication without a ticket still takes a seq, and gets no ack.
  Publish("hist:a", "4", /*ticket=*/0);
  EXPECT_TRUE(port_.All<bus::PubAck>().empty());
  port_.posted.clear();
  Publish("hist:a", "5");
  EXPECT_EQ(AckedSeq(), 5u);
}

// "hist:r" with seqs 1..5 published; its history keeps the last 3.
class RoomOwnerHistoryTest : public RoomOwnerTest {
 protected:
  std::string epoch_;
  void SetUp() override {
    auto ack = Join("hist:r", 0);
    ASSERT_NE(ack, nullptr);
    epoch_ = ack->epoch;
    for (int i = 1; i <= 5; ++i) {
      Publish("hist:r", std::to_string(i));
      port_.posted.clear();
    }
  }
  // The seqs of the replayed frames, read from their payloads.
  static std::vector<uint64_t> Seqs(const JoinRequest& r) {
    std::vector<uint64_t> out;
    for (const core::FrameRef& f : r.replay) {
      std::string p = Payload(f.get());
      size_t at = p.find("\"seq\":");
      EXPECT_NE(at, std::string::npos) << p;
      if (at != std::string::npos) out.push_back(std::stoull(p.substr(at + 6)));
    }
    return out;
  }
};

TEST_F(RoomOwnerHistoryTest, SinceReplaysExactlyWhatCameAfter) {
  auto r = Join("hist:r", 2, /*since_seq=*/2, epoch_);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->seq, 5u);
  EXPECT_EQ(r->epoch, epoch_);
  EXPECT_TRUE(r->recovered);
  EXPECT_EQ(Seqs(*r), (std::vector<uint64_t>{3, 4, 5}));

  auto newest = Join("hist:r", 2, 4, epoch_);
  EXPECT_TRUE(newest->recovered);
  EXPECT_EQ(Seqs(*newest), (std::vector<uint64_t>{5}));

  auto current = Join("hist:r", 2, 5, epoch_);
  EXPECT_TRUE(current->recovered);
  EXPECT_TRUE(current->replay.empty());
}

TEST_F(RoomOwnerHistoryTest, GapBeyondHistoryIsNotRecovered) {
  auto r = Join("hist:r", 2, /*since_seq=*/1, epoch_);  // seq 2 is gone
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->recovered);
  EXPECT_EQ(Seqs(*r), (std::vector<uint64_t>{3, 4, 5}));  // what is left, still in order
  auto zero = Join("hist:r", 2, 0, epoch_);
  EXPECT_FALSE(zero->recovered);
  auto future = Join("hist:r", 2, 6, epoch_);  // a seq this room never gave
  EXPECT_FALSE(future->recovered);
  EXPECT_TRUE(future->replay.empty());
}

TEST_F(RoomOwnerHistoryTest, OtherEpochReplaysNothing) {
  auto r = Join("hist:r", 2, /*since_seq=*/3, epoch_ + "x");
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->recovered);
  EXPECT_TRUE(r->replay.empty());
  EXPECT_EQ(r->seq, 5u);
  EXPECT_EQ(r->epoch, epoch_);     // tells the client the run it is now in
  auto plain = Join("hist:r", 2);  // no since: seq and epoch only
  EXPECT_FALSE(plain->recovered);
  EXPECT_TRUE(plain->replay.empty());
  EXPECT_EQ(plain->seq, 5u);
}

TEST_F(RoomOwnerHistoryTest, ReplayHoldsItsOwnReferences) {
  auto r = Join("hist:r", 2, 2, epoch_);
  ASSERT_EQ(r->replay.size(), 3u);
  for (const core::FrameRef& f : r->replay) EXPECT_EQ(f->refs_approx(), 2u);  // history + replay
  core::SharedFrame* last = r->replay.back().get();
  r.reset();
  EXPECT_EQ(last->refs_approx(), 1u);
}

TEST_F(RoomOwnerTest, HistoryExpiresAfterItsTtl) {
  auto first = Join("hist:t", 0);
  std::string epoch = first->epoch;
  Publish("hist:t", "1");  // at t
  Advance(6000);
  Publish("hist:t", "2");  // at t+6 s
  port_.posted.clear();
  Advance(4000);  // t+10 s: the first is due
  // A join reads the history as of now, even before a sweep.
  auto r = Join("hist:t", 2, 0, epoch);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->recovered);  // seq 1 expired
  ASSERT_EQ(r->replay.size(), 1u);
  EXPECT_NE(Payload(r->replay[0].get()).find(R"("seq":2)"), std::string::npos);
  auto from1 = Join("hist:t", 2, 1, epoch);
  EXPECT_TRUE(from1->recovered);
  Tick();
  EXPECT_EQ(owner_.Find("hist:t")->history->size(), 1u);
  EXPECT_EQ(stats_.history_messages.load(), 1u);
  EXPECT_EQ(stats_.history_bytes.load(), r->replay[0]->size());
  Advance(5999);  // the second is 1 ms short of its TTL
  Tick();
  EXPECT_EQ(owner_.Find("hist:t")->history->size(), 1u);
  Advance(1000);  // sweeps run once a second
  Tick();
  EXPECT_TRUE(owner_.Find("hist:t")->history->empty());
  EXPECT_EQ(stats_.history_messages.load(), 0u);
  EXPECT_NE(owner_.Find("hist:t"), nullptr);  // subscribers remain
}

TEST_F(RoomOwnerTest, RoomForgottenWhenLastShardLeaves) {
  Join("lobby", 0);
  Join("lobby", 2);
  owner_.OnLeave("lobby", 0, LeaveScope::kLastSubscriber);
  ASSERT_NE(owner_.Find("lobby"), nullptr);
  EXPECT_EQ(owner_.Find("lobby")->shard_mask, uint64_t{1} << 2);
  owner_.OnLeave("lobby", 2, LeaveScope::kOneConnection);  // not the last one there
  ASSERT_NE(owner_.Find("lobby"), nullptr);
  owner_.OnLeave("lobby", 2, LeaveScope::kLastSubscriber);
  EXPECT_EQ(owner_.Find("lobby"), nullptr);
  EXPECT_EQ(owner_.rooms(), 0u);
  owner_.OnLeave("lobby", 2, LeaveScope::kLastSubscriber);  // a late leave is harmless
  Publish("lobby");
  EXPECT_TRUE(port_.All<bus::Deliver>().empty());
}

// The rooms gauge (/api/stats `rooms`) follows the owned rooms, users'
// personal rooms left out.
TEST_F(RoomOwnerTest, RoomsGaugeCountsOwnedRoomsButNotPersonalOnes) {
  Join("lobby", 0);
  Join("lobby", 2);
  Join("news", 0);
  Join("@bob", 0, std::nullopt, "", /*counts_conn=*/true);
  EXPECT_EQ(owner_.rooms(), 3u);
  EXPECT_EQ(stats_.rooms.load(), 2u);
  owner_.OnLeave("lobby", 0, LeaveScope::kLastSubscriber);
  EXPECT_EQ(stats_.rooms.load(), 2u) << "shard 2 still subscribes";
  owner_.OnLeave("lobby", 2, LeaveScope::kLastSubscriber);
  EXPECT_EQ(stats_.rooms.load(), 1u);
  owner_.OnLeave("@bob", 0, LeaveScope::kOneConnection | LeaveScope::kLastSubscriber);
  owner_.OnLeave("news", 0, LeaveScope::kLastSubscriber);
  EXPECT_EQ(owner_.rooms(), 0u);
  EXPECT_EQ(stats_.rooms.load(), 0u);
}

TEST_F(RoomOwnerTest, LeftShardGetsNoMoreDeliveries) {
  Join("lobby", 0);
  Join("lobby", 2);
  owner_.OnLeave("lobby", 0, LeaveScope::kLastSubscriber);
  Publish("lobby");
  unsigned to = 99;
  ASSERT_NE(port_.One<bus::Deliver>(&to), nullptr);
  EXPECT_EQ(to, 2u);
}

TEST_F(RoomOwnerTest, HistoryRoomSurvivesWithoutSubscribersUntilTtl) {
  auto first = Join("hist:s", 0);
  std::string epoch = first->epoch;
  Publish("hist:s", "1");
  port_.posted.clear();
  owner_.OnLeave("hist:s", 0, LeaveScope::kLastSubscriber);
  ASSERT_NE(owner_.Find("hist:s"), nullptr);
  EXPECT_EQ(stats_.history_rooms.load(), 1u);
  // Publications keep numbering and recording with no one subscribed.
  Publish("hist:s", "2");
  EXPECT_TRUE(port_.All<bus::Deliver>().empty());
  EXPECT_EQ(AckedSeq(), 2u);
  Advance(5000);
  Tick();
  ASSERT_NE(owner_.Find("hist:s"), nullptr);
  auto back = Join("hist:s", 2, 0, epoch);  // a client coming back recovers both
  EXPECT_TRUE(back->recovered);
  EXPECT_EQ(back->replay.size(), 2u);
  owner_.OnLeave("hist:s", 2, LeaveScope::kLastSubscriber);
  Advance(5000);  // 10 s after the last publication
  Tick();
  EXPECT_EQ(owner_.Find("hist:s"), nullptr);
  EXPECT_EQ(owner_.rooms(), 0u);
  EXPECT_EQ(stats_.history_rooms.load(), 0u);
  // Starting over is a new run of seqs under a new epoch.
  auto again = Join("hist:s", 2, 2, epoch);
  EXPECT_NE(again->epoch, epoch);
  EXPECT_EQ(again->seq, 0u);
  EXPECT_FALSE(again->recovered);
  Publish("hist:s", "3");
  port_.posted.erase(port_.posted.begin());  // the Deliver
  EXPECT_EQ(AckedSeq(), 1u);
}

TEST_F(RoomOwnerTest, PublishingCreatesAHistoryRoom) {
  Publish("keep:x", "1");
  EXPECT_EQ(AckedSeq(), 1u);
  ASSERT_NE(owner_.Find("keep:x"), nullptr);
  EXPECT_EQ(owner_.Find("keep:x")->history->size(), 1u);
  Advance(3'600'000);  // no TTL: kept until pushed out
  Tick();
  ASSERT_NE(owner_.Find("keep:x"), nullptr);
  auto r = Join("keep:x", 2, 0, owner_.Find("keep:x")->history->epoch());
  EXPECT_TRUE(r->recovered);
  EXPECT_EQ(r->replay.size(), 1u);
}

TEST_F(RoomOwnerTest, EpochsDifferBetweenRooms) {
  auto a = Join("hist:a", 0);
  auto b = Join("hist:b", 0);
  EXPECT_NE(a->epoch, b->epoch);
}

TEST_F(RoomOwnerTest, PersonalRoomCountsConnectionsAndSendAckReportsThem) {
  Join("@bob", 0, std::nullopt, "", /*counts_conn=*/true);
  Join("@bob", 2, std::nullopt, "", true);
  Join("@bob", 2, std::nullopt, "", true);  // a second connection on shard 2
  EXPECT_EQ(owner_.Find("@bob")->user_conns, 3u);
  EXPECT_EQ(owner_.Find("@bob")->history, nullptr);

  SendDirect("@bob", 77);
  auto delivers = port_.All<bus::Deliver>();
  ASSERT_EQ(delivers.size(), 2u);
  EXPECT_EQ(Payload(delivers[0].second->frame.get()),
            R"({"op":"msg","from":"alice","data":"hello"})");
  EXPECT_EQ(delivers[0].second->frame->tag(), "@bob");
  unsigned to = 99;
  bus::SendAck* ack = port_.One<bus::SendAck>(&to);
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(to, 2u);  // the sender's shard
  EXPECT_EQ(ack->send_id, 77u);
  EXPECT_EQ(ack->outcome, Outcome::kAccepted);
  EXPECT_EQ(ack->reached, 3u);
  EXPECT_TRUE(port_.All<bus::PubAck>().empty());
  port_.posted.clear();

  owner_.OnLeave("@bob", 2, LeaveScope::kOneConnection);
  EXPECT_EQ(owner_.Find("@bob")->user_conns, 2u);
  owner_.OnLeave("@bob", 2, LeaveScope::kOneConnection | LeaveScope::kLastSubscriber);
  EXPECT_EQ(owner_.Find("@bob")->user_conns, 1u);
  SendDirect("@bob", 78);
  EXPECT_EQ(port_.All<bus::Deliver>().size(), 1u);
  EXPECT_EQ(port_.One<bus::SendAck>()->reached, 1u);
  port_.posted.clear();

  owner_.OnLeave("@bob", 0, LeaveScope::kOneConnection | LeaveScope::kLastSubscriber);
  EXPECT_EQ(owner_.Find("@bob"), nullptr);
  SendDirect("@bob", 79);  // the user is gone: answered, reaching no one
  EXPECT_TRUE(port_.All<bus::Deliver>().empty());
  ASSERT_NE(port_.One<bus::SendAck>(), nullptr);
  EXPECT_EQ(port_.One<bus::SendAck>()->reached, 0u);
  EXPECT_EQ(port_.One<bus::SendAck>()->outcome, Outcome::kAccepted);
}

TEST_F(RoomOwnerTest, DirectRequestIsFramedAsReq) {
  Join("@bob", 0, std::nullopt, "", true);
  SendDirect("@bob", 5, "rid-1");
  bus::Deliver* d = port_.One<bus::Deliver>();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(Payload(d->frame.get()), R"({"op":"req","from":"alice","rid":"rid-1","data":"hello"})");
  EXPECT_EQ(port_.One<bus::SendAck>()->reached, 1u);
}

TEST_F(RoomOwnerTest, RefusedPublicationIsAnsweredRefusedAndLeavesNoTrace) {
  Join("hist:a", 0);
  Publish("hist:a", "1", /*ticket=*/0, true, /*refuse=*/true);
  EXPECT_TRUE(port_.All<bus::Deliver>().empty());
  bus::PubAck* ack = port_.One<bus::PubAck>();  // answered even without a ticket
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(ack->outcome, Outcome::kRefused);
  EXPECT_FALSE(ack->seq.has_value());
  port_.posted.clear();
  EXPECT_TRUE(owner_.Find("hist:a")->history->empty());
  Publish("hist:a", "2");  // the refused one took no seq
  port_.posted.erase(port_.posted.begin());
  EXPECT_EQ(AckedSeq(), 1u);

  Join("@bob", 0, std::nullopt, "", true);
  SendDirect("@bob", 8, "", /*refuse=*/true);
  EXPECT_TRUE(port_.All<bus::Deliver>().empty());
  bus::SendAck* sent = port_.One<bus::SendAck>();
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sent->outcome, Outcome::kRefused);
  EXPECT_EQ(sent->reached, 0u);
  EXPECT_EQ(sent->send_id, 8u);
}

// Presence: the payloads of the announcements posted to shard 0 (each only
// for subscribers that asked for presence), clearing what was posted.
std::vector<std::string> Announced(FakePort& port) {
  std::vector<std::string> out;
  for (auto& [to, d] : port.All<bus::Deliver>()) {
    if (to != 0) continue;
    EXPECT_EQ(d->audience, Audience::kPresenceOnly);
    out.push_back(Payload(d->frame.get()));
  }
  port.posted.clear();
  return out;
}

void RoomOwnerTest::ExpectLeaveAfter(uint64_t ms, std::string_view user) {
  Advance(ms - 1);
  Tick();
  EXPECT_TRUE(Announced(port_).empty()) << "before the delay is out";
  Advance(1);
  Tick();
  EXPECT_EQ(Announced(port_), (std::vector<std::string>{R"({"op":"leave","room":"lobby","user":")" +
                                                        std::string(user) + R"(","info":null})"}));
}

TEST_F(RoomOwnerTest, PresenceJoinIsAnnouncedOncePerUserToEveryListeningShard) {
  Join("lobby", 0);
  Join("lobby", 2);
  Presence("lobby", "erin", +1, "", /*from=*/2);  // shard 2 has a presence subscriber too
  port_.posted.clear();
  Presence("lobby", "carol", +1, R"({"n":"C"})");
  auto delivers = port_.All<bus::Deliver>();
  ASSERT_EQ(delivers.size(), 2u);
  EXPECT_EQ(delivers[0].second->frame.get(), delivers[1].second->frame.get());
  EXPECT_EQ(delivers[0].second->frame->tag(), "lobby");  // found by room on arrival
  EXPECT_EQ(Announced(port_),
            (std::vector<std::string>{
                R"({"op":"join","room":"lobby","user":"carol","info":{"n":"C"}})"}));
  Presence("lobby", "carol", +1);  // a second connection, maybe on another shard
  EXPECT_TRUE(Announced(port_).empty());
  Presence("lobby", "dave", +1);
  EXPECT_EQ(
      Announced(port_),
      (std::vector<std::string>{R"({"op":"join","room":"lobby","user":"dave","info":null})"}));
}

// Each shard's latest delta says whether it still has a presence subscriber; a shard that
// leaves the room stops listening. Nothing is framed while no subscribing shard listens.
TEST_F(RoomOwnerTest, PresenceIsAnnouncedOnlyToShardsThatListen) {
  Join("lobby", 0);
  Join("lobby", 2);
  Presence("lobby", "carol", +1, "", /*from=*/2, /*listening=*/false);
  EXPECT_TRUE(port_.All<bus::Deliver>().empty());
  Presence("lobby", "dave", +1, "", /*from=*/2, /*listening=*/true);
  auto delivers = port_.All<bus::Deliver>();
  ASSERT_EQ(delivers.size(), 1u);
  EXPECT_EQ(delivers[0].first, 2u);
  port_.posted.clear();
  Presence("lobby", "dave", -1, "", /*from=*/2, /*listening=*/false);
  Advance(kLeaveDelayMs);
  Tick();
  EXPECT_TRUE(port_.All<bus::Deliver>().empty()) << "dave's leave framed for nobody";
  Presence("lobby", "erin", +1, "", /*from=*/0, /*listening=*/true);
  Presence("lobby", "fay", +1, "", /*from=*/2, /*listening=*/true);
  port_.posted.clear();
  owner_.OnLeave("lobby", 2, LeaveScope::kLastSubscriber);
  Join("lobby", 2);  // back, with no presence subscriber yet
  Presence("lobby", "gus", +1, "", /*from=*/0, /*listening=*/true);
  delivers = port_.All<bus::Deliver>();
  ASSERT_EQ(delivers.size(), 1u);
  EXPECT_EQ(delivers[0].first, 0u);
}

// A history subscriber that asked for presence gets its `ok` with the join's answer and sends
// its delta after it: its join request already marks the shard as listening, so events the
// owner handles in between reach it.
TEST_F(RoomOwnerTest, AHistoryPresenceSubscribersJoinMarksItsShardListening) {
  Join("hist:a", 0);
  Join("hist:a", 2, std::nullopt, "", false, 1, /*presence=*/true);
  port_.posted.clear();
  Presence("hist:a", "carol", +1, "", /*from=*/0, /*listening=*/false);
  auto delivers = port_.All<bus::Deliver>();
  ASSERT_EQ(delivers.size(), 1u);
  EXPECT_EQ(delivers[0].first, 2u);
}

TEST_F(RoomOwnerTest, PresenceLeaveWaitsForTheDelay) {
  Join("lobby", 0);
  Presence("lobby", "carol", +1);
  Presence("lobby", "carol", +1);
  Announced(port_);
  Presence("lobby", "carol", -1);  // one of two connections
  Advance(kLeaveDelayMs);
  Tick();
  EXPECT_TRUE(Announced(port_).empty());
  Presence("lobby", "carol", -1);  // the last one
  Tick();
  EXPECT_TRUE(Announced(port_).empty());
  ExpectLeaveAfter(kLeaveDelayMs, "carol");
  Advance(kLeaveDelayMs);
  Tick();
  EXPECT_TRUE(Announced(port_).empty());  // once
  Presence("lobby", "carol", +1);         // a later return is a new join
  EXPECT_EQ(Announced(port_).size(), 1u);
}

TEST_F(RoomOwnerTest, PresenceLeaveCarriesTheUsersInfo) {
  Join("lobby", 0);
  Presence("lobby", "carol", +1, R"({"n":"C"})");
  Announced(port_);
  Presence("lobby", "carol", -1, R"({"n":"C"})");
  Advance(kLeaveDelayMs);
  Tick();
  EXPECT_EQ(Announced(port_),
            (std::vector<std::string>{
                R"({"op":"leave","room":"lobby","user":"carol","info":{"n":"C"}})"}));
}

TEST_F(RoomOwnerTest, ReconnectWithinTheDelayMakesNoNoise) {
  Join("lobby", 0);
  Presence("lobby", "carol", +1);
  Announced(port_);
  Presence("lobby", "carol", -1);
  Advance(kLeaveDelayMs - 1);
  Presence("lobby", "carol", +1);
  Tick();
  Advance(kLeaveDelayMs * 3);
  Tick();
  EXPECT_TRUE(Announced(port_).empty());
  auto q = Ask("lobby");
  EXPECT_EQ(q->count, 1u);
  EXPECT_EQ(q->users_json, R"([{"user":"carol","info":null,"conns":1}])");
}

TEST_F(RoomOwnerTest, LeavingAgainAfterAReconnectWaitsFromTheLaterLeave) {
  Join("lobby", 0);
  Presence("lobby", "carol", +1);
  Announced(port_);
  Presence("lobby", "carol", -1);  // at t
  Advance(500);
  Presence("lobby", "carol", +1);
  Advance(500);
  Presence("lobby", "carol", -1);  // at t+1000
  Advance(kLeaveDelayMs - 1000);   // t+2000: the first leave's time, superseded
  Tick();
  EXPECT_TRUE(Announced(port_).empty());
  Advance(1000);  // t+3000
  Tick();
  EXPECT_EQ(Announced(port_).size(), 1u);
}

TEST_F(RoomOwnerTest, PresenceAskListsMembersButNotThoseLeaving) {
  Join("lobby", 0);
  EXPECT_EQ(Ask("lobby")->users_json, "[]");
  Presence("lobby", "carol", +1, R"({"n":"C"})");
  Presence("lobby", "carol", +1, R"({"n":"C"})");
  Presence("lobby", "dave", +1);
  Presence("lobby", "erin", +1);
  Presence("lobby", "erin", -1);  // leave pending
  auto q = Ask("lobby", 2);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->count, 2u);
  // Member order is not specified: check each entry and the whole length.
  const std::string carol = R"({"user":"carol","info":{"n":"C"},"conns":2})";
  const std::string dave = R"({"user":"dave","info":null,"conns":1})";
  EXPECT_TRUE(q->users_json == "[" + carol + "," + dave + "]" ||
              q->users_json == "[" + dave + "," + carol + "]")
      << q->users_json;
  EXPECT_EQ(Ask("nowhere")->users_json, "[]");
  EXPECT_EQ(Ask("nowhere")->count, 0u);
}

TEST_F(RoomOwnerTest, PresenceForAnUnknownRoomIsIgnored) {
  Presence("ghost", "carol", +1);
  Presence("ghost", "carol", -1);
  Advance(kLeaveDelayMs);
  Tick();
  EXPECT_TRUE(port_.posted.empty());
  EXPECT_EQ(owner_.rooms(), 0u);
}

TEST_F(RoomOwnerTest, UnmatchedPresenceLeaveIsIgnored) {
  Join("lobby", 0);
  Presence("lobby", "carol", -1);  // never joined
  Advance(kLeaveDelayMs);
  Tick();
  EXPECT_TRUE(Announced(port_).empty());
  Presence("lobby", "carol", +1);
  EXPECT_EQ(Announced(port_).size(), 1u);
}

// An answer lists at most PresenceLimits::listed_users users and counts all.
TEST_F(RoomOwnerTest, PresenceAskListsAtMostTheLimitAndCountsEveryone) {
  Join("lobby", 0);
  for (uint32_t i = 0; i < kListedUsers; ++i) Presence("lobby", "u" + std::to_string(i), +1);
  auto at_limit = Ask("lobby");
  EXPECT_EQ(at_limit->count, kListedUsers);
  EXPECT_FALSE(at_limit->truncated);
  Presence("lobby", "u9", +1);
  Presence("lobby", "u10", +1);
  Presence("lobby", "u11", +1);
  Presence("lobby", "u11", -1);  // leaving: neither listed nor counted
  auto over = Ask("lobby");
  EXPECT_EQ(over->count, kListedUsers + 2);
  EXPECT_TRUE(over->truncated);
  size_t listed = 0;
  for (size_t at = over->users_json.find("\"conns\":"); at != std::string::npos;
       at = over->users_json.find("\"conns\":", at + 1)) {
    ++listed;
  }
  EXPECT_EQ(listed, kListedUsers) << over->users_json;
  EXPECT_EQ(over->users_json.find("u11"), std::string::npos) << over->users_json;
}

// A member churning in and out keeps one pending leave, not one per exit,
// and the leave still comes once, a delay after the last exit.
TEST_F(RoomOwnerTest, AMemberHasAtMostOnePendingLeaveWhateverItsChurn) {
  Join("lobby", 0);
  Presence("lobby", "carol", +1);
  Announced(port_);
  for (int i = 0; i < 1000; ++i) {
    Presence("lobby", "carol", -1);
    ASSERT_EQ(owner_.pending_leaves(), 1u);
    Advance(1);
    Presence("lobby", "carol", +1);
    ASSERT_EQ(owner_.pending_leaves(), 0u);
  }
  Presence("lobby", "carol", -1);
  EXPECT_EQ(owner_.pending_leaves(), 1u);
  EXPECT_EQ(stats_.presence_leaves_pending.load(), 1u);
  ExpectLeaveAfter(kLeaveDelayMs, "carol");  // once, a delay after the last exit
  EXPECT_EQ(owner_.pending_leaves(), 0u);
  EXPECT_EQ(stats_.presence_leaves_pending.load(), 0u);
}

// A leave taken back while later ones wait (here in another room, which is
// then forgotten) is passed over when its turn comes; the ones behind it
// still leave on time, and a member who returned stays.
TEST_F(RoomOwnerTest, ALeaveTakenBackAmongOthersIsPassedOverInItsTurn) {
  Join("lobby", 0);
  Join("side", 0);
  Presence("lobby", "carol", +1);
  Presence("lobby", "dave", +1);
  Presence("side", "erin", +1);
  Announced(port_);
  Presence("lobby", "carol", -1);  // at t
  Advance(10);
  Presence("side", "erin", -1);  // t+10
  Advance(10);
  Presence("lobby", "dave", -1);                           // t+20
  Presence("lobby", "carol", +1);                          // back: the first entry is taken back
  owner_.OnLeave("side", 0, LeaveScope::kLastSubscriber);  // takes erin's along
  EXPECT_EQ(owner_.pending_leaves(), 1u);
  EXPECT_EQ(stats_.presence_leaves_pending.load(), 1u);
  ExpectLeaveAfter(kLeaveDelayMs, "dave");  // carol's and erin's entries were due first
  EXPECT_EQ(owner_.pending_leaves(), 0u);
  EXPECT_EQ(Ask("lobby")->users_json, R"([{"user":"carol","info":null,"conns":1}])");
  Presence("lobby", "carol", -1);  // queued behind nothing live
  ExpectLeaveAfter(kLeaveDelayMs, "carol");
}

// A room forgotten (its last shard left) takes its members' pending leaves
// with it: subscribing and leaving a room alone adds nothing that stays.
TEST_F(RoomOwnerTest, AForgottenRoomTakesItsPendingLeavesAlong) {
  for (int i = 0; i < 100; ++i) {
    Join("solo", 0);
    Presence("solo", "carol", +1);
    Presence("solo", "carol", -1);
    ASSERT_EQ(owner_.pending_leaves(), 1u);
    owner_.OnLeave("solo", 0, LeaveScope::kLastSubscriber);
    ASSERT_EQ(owner_.Find("solo"), nullptr);
    ASSERT_EQ(owner_.pending_leaves(), 0u);
  }
  EXPECT_EQ(stats_.presence_leaves_pending.load(), 0u);
  port_.posted.clear();
  Advance(kLeaveDelayMs);
  Tick();
  EXPECT_TRUE(port_.posted.empty());
}

// Leaves of different members keep their own times, in order.
TEST_F(RoomOwnerTest, PendingLeavesOfSeveralMembersComeDueInTheirOrder) {
  Join("lobby", 0);
  Presence("lobby", "carol", +1);
  Presence("lobby", "dave", +1);
  Announced(port_);
  Presence("lobby", "carol", -1);  // at t
  Advance(500);
  Presence("lobby", "dave", -1);  // at t+500
  Advance(500);
  Presence("lobby", "carol", +1);  // back: carol's leave is taken back
  Presence("lobby", "carol", -1);  // at t+1000
  EXPECT_EQ(owner_.pending_leaves(), 2u);
  Advance(kLeaveDelayMs - 500);  // t+2500: dave's time
  Tick();
  EXPECT_EQ(
      Announced(port_),
      (std::vector<std::string>{R"({"op":"leave","room":"lobby","user":"dave","info":null})"}));
  Advance(499);
  Tick();
  EXPECT_TRUE(Announced(port_).empty());
  Advance(1);  // t+3000: carol's
  Tick();
  EXPECT_EQ(
      Announced(port_),
      (std::vector<std::string>{R"({"op":"leave","room":"lobby","user":"carol","info":null})"}));
}

}  // namespace
}  // namespace ringcast::shard
