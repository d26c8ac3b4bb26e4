#include "shard/bus_message.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace ringcast::shard {
namespace {

// A frame this test keeps one reference to, so refs_approx() can be read
// after the message's own reference is gone.
class HeldFrame {
 public:
  explicit HeldFrame(std::string_view bytes) : frame_(core::SharedFrame::CreateRaw(bytes)) {}
  ~HeldFrame() { frame_->Unref(); }
  HeldFrame(const HeldFrame&) = delete;
  HeldFrame& operator=(const HeldFrame&) = delete;

  // A new reference for a message to own.
  core::FrameRef Share() {
    frame_->Ref();
    return core::FrameRef(frame_);
  }
  core::SharedFrame* get() const { return frame_; }
  uint32_t refs() const { return frame_->refs_approx(); }

 private:
  core::SharedFrame* frame_;
};

std::string_view Bytes(const core::SharedFrame* f) {
  return {reinterpret_cast<const char*>(f->data()), f->size()};
}

// Encodes, checks the slot took the payload, and decodes.
BusMessage RoundTrip(BusMessage msg) {
  size_t index = msg.index();
  BusSlot slot = Encode(std::move(msg));
  EXPECT_EQ(slot.kind, index);
  return Decode(slot);
}

template <class T>
T Take(BusMessage msg) {
  EXPECT_TRUE(std::holds_alternative<T>(msg)) << "decoded kind " << msg.index();
  return std::get<T>(std::move(msg));
}

TEST(BusMessageTest, PublishKeepsEveryField) {
  auto req = std::make_unique<PubRequest>();
  req->room = "chat:lobby";
  req->from = "alice";
  req->data = R"({"text":"hi"})";
  req->conn = {17, 4};
  req->ticket = 99;
  req->origin = 3;
  req->echo = false;
  req->direct = true;
  req->send_id = 12345;
  req->rid = "r-1";
  PubRequest* sent = req.get();

  auto got = Take<bus::Publish>(RoundTrip(bus::Publish{std::move(req)}));
  ASSERT_NE(got.req, nullptr);
  EXPECT_EQ(got.req.get(), sent);  // handed over, not copied
  EXPECT_EQ(got.req->room, "chat:lobby");
  EXPECT_EQ(got.req->from, "alice");
  EXPECT_EQ(got.req->data, R"({"text":"hi"})");
  EXPECT_EQ(got.req->conn, (core::SlabHandle{17, 4}));
  EXPECT_EQ(got.req->ticket, 99u);
  EXPECT_EQ(got.req->origin, 3);
  EXPECT_FALSE(got.req->echo);
  EXPECT_TRUE(got.req->direct);
  EXPECT_EQ(got.req->send_id, 12345u);
  EXPECT_EQ(got.req->rid, "r-1");
}

TEST(BusMessageTest, DeliverKeepsFrameAndFlags) {
  HeldFrame frame("payload bytes");
  for (Audience audience : {Audience::kEveryone, Audience::kPresenceOnly}) {
    for (Echo echo : {Echo::kYes, Echo::kSkipPublisher}) {
      auto got = Take<bus::Deliver>(RoundTrip(
          bus::Deliver{frame.Share(), audience, echo, 63, core::SlabHandle{0xfffffffe, 7}}));
      EXPECT_EQ(got.frame.get(), frame.get());
      EXPECT_EQ(Bytes(got.frame.get()), "payload bytes");
      EXPECT_EQ(got.audience, audience);
      EXPECT_EQ(got.echo, echo);
      EXPECT_EQ(got.origin, 63);
      EXPECT_EQ(got.publisher, (core::SlabHandle{0xfffffffe, 7}));
      EXPECT_EQ(frame.refs(), 2u);  // the test's and the decoded message's
    }
  }
  EXPECT_EQ(frame.refs(), 1u);
}

std::unique_ptr<JoinRequest> FilledJoin(HeldFrame& replayed) {
  auto req = std::make_unique<JoinRequest>();
  req->room = "news";
  req->room_join = true;
  req->counts_conn = true;
  req->presence = true;
  req->has_conn = true;
  req->conn = {5, 6};
  req->ticket = 41;
  req->since_seq = 0;  // present, and zero: distinct from absent
  req->since_epoch = "e1";
  req->seq = 10;
  req->epoch = "e2";
  req->recovered = true;
  req->replay.push_back(replayed.Share());
  req->replay.push_back(replayed.Share());
  return req;
}

void ExpectFilledJoin(const JoinRequest& r, const HeldFrame& replayed) {
  EXPECT_EQ(r.room, "news");
  EXPECT_TRUE(r.room_join);
  EXPECT_TRUE(r.counts_conn);
  EXPECT_TRUE(r.presence);
  EXPECT_TRUE(r.has_conn);
  EXPECT_EQ(r.conn, (core::SlabHandle{5, 6}));
  EXPECT_EQ(r.ticket, 41u);
  ASSERT_TRUE(r.since_seq.has_value());
  EXPECT_EQ(*r.since_seq, 0u);
  EXPECT_EQ(r.since_epoch, "e1");
  EXPECT_EQ(r.seq, 10u);
  EXPECT_EQ(r.epoch, "e2");
  EXPECT_TRUE(r.recovered);
  ASSERT_EQ(r.replay.size(), 2u);
  EXPECT_EQ(r.replay[0].get(), replayed.get());
  EXPECT_EQ(r.replay[1].get(), replayed.get());
}

TEST(BusMessageTest, JoinAndJoinAckKeepRequestAndEpoch) {
  HeldFrame replayed("old");
  {
    std::unique_ptr<JoinRequest> req = FilledJoin(replayed);
    JoinRequest* sent = req.get();
    auto got = Take<bus::Join>(RoundTrip(bus::Join{std::move(req), 0xdeadbeef}));
    EXPECT_EQ(got.req.get(), sent);
    EXPECT_EQ(got.join_epoch, 0xdeadbeefu);
    ExpectFilledJoin(*got.req, replayed);
  }
  {
    auto got = Take<bus::JoinAck>(RoundTrip(bus::JoinAck{FilledJoin(replayed), 7}));
    EXPECT_EQ(got.join_epoch, 7u);
    ExpectFilledJoin(*got.req, replayed);
  }
  EXPECT_EQ(replayed.refs(), 1u);  // both requests' replays released
}

TEST(BusMessageTest, JoinWithoutSinceStaysWithoutSince) {
  auto req = std::make_unique<JoinRequest>();
  req->room = "r";
  auto got = Take<bus::Join>(RoundTrip(bus::Join{std::move(req), 1}));
  EXPECT_FALSE(got.req->since_seq.has_value());
  EXPECT_FALSE(got.req->room_join);
  EXPECT_TRUE(got.req->replay.empty());
}

TEST(BusMessageTest, LeaveKeepsRoomAndEachScope) {
  for (LeaveScope scope : {LeaveScope::kOneConnection, LeaveScope::kLastSubscriber,
                           LeaveScope::kOneConnection | LeaveScope::kLastSubscriber}) {
    auto got =
        Take<bus::Leave>(RoundTrip(bus::Leave{std::make_unique<std::string>("@bob"), scope}));
    ASSERT_NE(got.room, nullptr);
    EXPECT_EQ(*got.room, "@bob");
    EXPECT_EQ(got.scope, scope);
    EXPECT_EQ(Has(got.scope, LeaveScope::kOneConnection), Has(scope, LeaveScope::kOneConnection));
    EXPECT_EQ(Has(got.scope, LeaveScope::kLastSubscriber), Has(scope, LeaveScope::kLastSubscriber));
  }
}

TEST(BusMessageTest, PubAckKeepsSeqPresentOrAbsent) {
  auto with =
      Take<bus::PubAck>(RoundTrip(bus::PubAck{{8, 9}, 77, Outcome::kAccepted, uint64_t{1} << 40}));
  EXPECT_EQ(with.conn, (core::SlabHandle{8, 9}));
  EXPECT_EQ(with.ticket, 77u);
  EXPECT_EQ(with.outcome, Outcome::kAccepted);
  ASSERT_TRUE(with.seq.has_value());
  EXPECT_EQ(*with.seq, uint64_t{1} << 40);

  auto zero = Take<bus::PubAck>(RoundTrip(bus::PubAck{{1, 2}, 3, Outcome::kAccepted, 0}));
  ASSERT_TRUE(zero.seq.has_value());  // seq 0 is a seq, not "none"
  EXPECT_EQ(*zero.seq, 0u);

  auto without =
      Take<bus::PubAck>(RoundTrip(bus::PubAck{{1, 2}, 3, Outcome::kRefused, std::nullopt}));
  EXPECT_EQ(without.outcome, Outcome::kRefused);
  EXPECT_EQ(without.ticket, 3u);
  EXPECT_FALSE(without.seq.has_value());
}

TEST(BusMessageTest, SendAckKeepsIdOutcomeAndReached) {
  auto got =
      Take<bus::SendAck>(RoundTrip(bus::SendAck{0xffffffff, Outcome::kRefused, 0x123456789abcull}));
  EXPECT_EQ(got.send_id, 0xffffffffu);
  EXPECT_EQ(got.outcome, Outcome::kRefused);
  EXPECT_EQ(got.reached, 0x123456789abcull);
  auto ok = Take<bus::SendAck>(RoundTrip(bus::SendAck{1, Outcome::kAccepted, 0}));
  EXPECT_EQ(ok.outcome, Outcome::kAccepted);
  EXPECT_EQ(ok.reached, 0u);
}

TEST(BusMessageTest, DisconnectResAndPresenceKeepPayloads) {
  auto dis = Take<bus::Disconnect>(RoundTrip(bus::Disconnect{std::make_unique<std::string>("u1")}));
  ASSERT_NE(dis.user, nullptr);
  EXPECT_EQ(*dis.user, "u1");

  auto answer = std::make_unique<ResAnswer>();
  answer->request = 4000000000u;
  answer->tag = 0xfedcba9876543210ull;
  answer->from = "responder";
  answer->data = "[1,2]";
  answer->responder = {7, 3};
  answer->ticket = 9;
  answer->origin = 2;
  auto res = Take<bus::Res>(RoundTrip(bus::Res{std::move(answer)}));
  ASSERT_NE(res.answer, nullptr);
  EXPECT_EQ(res.answer->request, 4000000000u);
  EXPECT_EQ(res.answer->tag, 0xfedcba9876543210ull);
  EXPECT_EQ(res.answer->from, "responder");
  EXPECT_EQ(res.answer->data, "[1,2]");
  EXPECT_EQ(res.answer->responder, (core::SlabHandle{7, 3}));
  EXPECT_EQ(res.answer->ticket, 9u);
  EXPECT_EQ(res.answer->origin, 2u);

  auto ack = Take<bus::ResAck>(RoundTrip(bus::ResAck{{5, 6}, 0xffffffffu, Outcome::kRefused}));
  EXPECT_EQ(ack.conn, (core::SlabHandle{5, 6}));
  EXPECT_EQ(ack.ticket, 0xffffffffu);
  EXPECT_EQ(ack.outcome, Outcome::kRefused);

  auto delta = std::make_unique<PresenceDelta>();
  delta->room = "chat:a";
  delta->user = "carol";
  delta->info_json = R"({"n":1})";
  delta->delta = -1;
  auto pres = Take<bus::Presence>(RoundTrip(bus::Presence{std::move(delta)}));
  ASSERT_NE(pres.delta, nullptr);
  EXPECT_EQ(pres.delta->room, "chat:a");
  EXPECT_EQ(pres.delta->user, "carol");
  EXPECT_EQ(pres.delta->info_json, R"({"n":1})");
  EXPECT_EQ(pres.delta->delta, -1);
}

TEST(BusMessageTest, PresenceAskAndAnswerKeepQuery) {
  auto query = [] {
    auto q = std::make_unique<PresenceQuery>();
    q->room = "chat:a";
    q->conn = {3, 1};
    q->ticket = 12;
    q->users_json = R"([{"user":"a","info":null,"conns":1}])";
    q->count = 1;
    return q;
  };
  auto check = [](const PresenceQuery& q) {
    EXPECT_EQ(q.room, "chat:a");
    EXPECT_EQ(q.conn, (core::SlabHandle{3, 1}));
    EXPECT_EQ(q.ticket, 12u);
    EXPECT_EQ(q.users_json, R"([{"user":"a","info":null,"conns":1}])");
    EXPECT_EQ(q.count, 1u);
  };
  auto ask = Take<bus::PresenceAsk>(RoundTrip(bus::PresenceAsk{query()}));
  ASSERT_NE(ask.query, nullptr);
  check(*ask.query);
  auto answer = Take<bus::PresenceAnswer>(RoundTrip(bus::PresenceAnswer{query()}));
  ASSERT_NE(answer.query, nullptr);
  check(*answer.query);
}

// Every kind gets its own slot kind: none decodes as another.
TEST(BusMessageTest, EveryKindHasItsOwnSlotKind) {
  HeldFrame frame("f");
  BusMessage all[] = {
      bus::Publish{std::make_unique<PubRequest>()},
      bus::Deliver{frame.Share()},
      bus::Join{std::make_unique<JoinRequest>()},
      bus::JoinAck{std::make_unique<JoinRequest>()},
      bus::Leave{std::make_unique<std::string>("r")},
      bus::PubAck{},
      bus::SendAck{},
      bus::Disconnect{std::make_unique<std::string>("u")},
      bus::Res{std::make_unique<ResAnswer>()},
      bus::Presence{std::make_unique<PresenceDelta>()},
      bus::PresenceAsk{std::make_unique<PresenceQuery>()},
      bus::PresenceAnswer{std::make_unique<PresenceQuery>()},
      bus::ResAck{},
  };
  static_assert(std::size(all) == std::variant_size_v<BusMessage>);
  for (size_t i = 0; i < std::size(all); ++i) {
    ASSERT_EQ(all[i].index(), i);
    BusSlot slot = Encode(std::move(all[i]));
    EXPECT_EQ(slot.kind, i);
    EXPECT_EQ(Decode(slot).index(), i);
  }
}

// A message that is decoded and never handled frees what it carries (the
// heap payloads are checked by the leak sanitizer, frames by their count).
TEST(BusMessageTest, DecodedAndDroppedSlotsFreeTheirPayloads) {
  HeldFrame delivered("delivered");
  HeldFrame replayed("replayed");
  BusSlot slots[12];
  size_t n = 0;
  auto pub = std::make_unique<PubRequest>();
  pub->data = std::string(1000, 'x');  // past any small-string buffer
  slots[n++] = Encode(bus::Publish{std::move(pub)});
  slots[n++] = Encode(bus::Deliver{delivered.Share()});
  auto join = std::make_unique<JoinRequest>();
  join->room = std::string(100, 'r');
  join->replay.push_back(replayed.Share());
  slots[n++] = Encode(bus::Join{std::move(join), 1});
  auto ack = std::make_unique<JoinRequest>();
  ack->replay.push_back(replayed.Share());
  ack->replay.push_back(replayed.Share());
  slots[n++] = Encode(bus::JoinAck{std::move(ack), 2});
  slots[n++] = Encode(bus::Leave{std::make_unique<std::string>(100, 'l')});
  slots[n++] = Encode(bus::Disconnect{std::make_unique<std::string>(100, 'd')});
  auto res = std::make_unique<ResAnswer>();
  res->data = std::string(100, 'a');
  slots[n++] = Encode(bus::Res{std::move(res)});
  auto delta = std::make_unique<PresenceDelta>();
  delta->info_json = std::string(100, 'i');
  slots[n++] = Encode(bus::Presence{std::move(delta)});
  slots[n++] = Encode(bus::PresenceAsk{std::make_unique<PresenceQuery>()});
  slots[n++] = Encode(bus::PresenceAnswer{std::make_unique<PresenceQuery>()});
  EXPECT_EQ(delivered.refs(), 2u);
  EXPECT_EQ(replayed.refs(), 4u);
  for (size_t i = 0; i < n; ++i) BusMessage dropped = Decode(slots[i]);
  EXPECT_EQ(delivered.refs(), 1u);
  EXPECT_EQ(replayed.refs(), 1u);
}

// Encoding moves the payload out: the message left behind owns nothing, so
// dropping it does not free what the slot now owns.
TEST(BusMessageTest, EncodingLeavesTheMessageEmpty) {
  HeldFrame frame("f");
  BusMessage msg = bus::Deliver{frame.Share()};
  BusSlot slot = Encode(std::move(msg));
  EXPECT_EQ(std::get<bus::Deliver>(msg).frame.get(), nullptr);  // NOLINT(bugprone-use-after-move)
  msg = bus::PubAck{};  // drops whatever the moved-from message still held
  EXPECT_EQ(frame.refs(), 2u);
  BusMessage back = Decode(slot);
  EXPECT_EQ(std::get<bus::Deliver>(back).frame.get(), frame.get());
}

}  // namespace
}  // namespace ringcast::shard
