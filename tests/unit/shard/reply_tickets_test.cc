#include "shard/reply_tickets.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast::shard {
namespace {

std::string Text(const core::SharedFrame* f) {
  return {reinterpret_cast<const char*>(f->data()), f->size()};
}

core::SharedFrame* Reply(std::string_view text) { return core::SharedFrame::CreateRaw(text); }

// Collects emitted replies as text and releases them, as a connection's
// queue would once sent.
struct Sent {
  std::vector<std::string> texts;
  auto Emit() {
    return [this](core::SharedFrame* f) {
      texts.push_back(Text(f));
      f->Unref();
    };
  }
};

TEST(ReplyTicketsTest, TicketsAreNumberedFromOneAndKeepWhatTheyWereGiven) {
  ReplyTickets tickets;
  EXPECT_TRUE(tickets.empty());
  uint32_t a = tickets.Reserve(5);
  uint32_t b = tickets.Reserve(std::nullopt, /*http=*/true, /*keep_alive=*/false);
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(tickets.size(), 2u);
  const ReplyTickets::Ticket* ta = tickets.Find(a);
  ASSERT_NE(ta, nullptr);
  EXPECT_EQ(ta->id, 5u);
  EXPECT_FALSE(ta->http);
  EXPECT_EQ(ta->frame, nullptr);
  const ReplyTickets::Ticket* tb = tickets.Find(b);
  ASSERT_NE(tb, nullptr);
  EXPECT_FALSE(tb->id.has_value());
  EXPECT_TRUE(tb->http);
  EXPECT_FALSE(tb->keep_alive);
  EXPECT_EQ(tickets.Find(3), nullptr);
  Sent sent;
  tickets.Complete(a, Reply("a"), sent.Emit());
  tickets.Complete(b, Reply("b"), sent.Emit());
  EXPECT_EQ(tickets.Find(a), nullptr);  // answered and gone
}

TEST(ReplyTicketsTest, ReadyReplyGoesOutAtOnceWhenNothingWaits) {
  ReplyTickets tickets;
  core::SharedFrame* f = Reply("now");
  EXPECT_FALSE(tickets.ParkBehind(f));
  EXPECT_TRUE(tickets.empty());
  EXPECT_EQ(f->refs_approx(), 1u);  // untouched: still the caller's
  f->Unref();
}

TEST(ReplyTicketsTest, LaterAnswerHoldsBackReadyRepliesUntilItArrives) {
  ReplyTickets tickets;
  Sent sent;
  uint32_t first = tickets.Reserve(1);
  ASSERT_TRUE(tickets.ParkBehind(Reply("pong")));
  uint32_t second = tickets.Reserve(2);
  ASSERT_TRUE(tickets.ParkBehind(Reply("ok 3")));
  tickets.Complete(second, Reply("ok 2"), sent.Emit());
  EXPECT_TRUE(sent.texts.empty());  // the first still waits
  tickets.Complete(first, Reply("ok 1"), sent.Emit());
  EXPECT_EQ(sent.texts, (std::vector<std::string>{"ok 1", "pong", "ok 2", "ok 3"}));
  EXPECT_TRUE(tickets.empty());
  core::SharedFrame* later = Reply("later");
  EXPECT_FALSE(tickets.ParkBehind(later));  // nothing waits again: straight out
  later->Unref();
}

TEST(ReplyTicketsTest, DestructorFreesAnsweredRepliesStuckBehindAnUnanswered) {
  core::SharedFrame* parked = Reply("parked");
  core::SharedFrame* answered = Reply("answered");
  parked->Ref();
  answered->Ref();
  {
    ReplyTickets tickets;
    tickets.Reserve(1);
    uint32_t second = tickets.Reserve(2);
    ASSERT_TRUE(tickets.ParkBehind(parked));
    Sent sent;
    tickets.Complete(second, answered, sent.Emit());
    EXPECT_TRUE(sent.texts.empty());
    EXPECT_EQ(parked->refs_approx(), 2u);
  }  // the connection closes with its first reply never answered
  EXPECT_EQ(parked->refs_approx(), 1u);
  EXPECT_EQ(answered->refs_approx(), 1u);
  parked->Unref();
  answered->Unref();
}

// Against a model: reserve, park and complete in random order; every reply
// comes out exactly once, in ticket order, and whatever is left when the
// tickets go away is freed (the leak sanitizer checks).
TEST(ReplyTicketsTest, RepliesLeaveInTicketOrderAgainstModel) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    std::mt19937 rng(seed);
    auto tickets = std::make_unique<ReplyTickets>();
    struct Waiting {
      uint32_t number;
      std::string text;  // "" until answered
    };
    std::deque<Waiting> model;
    std::vector<std::string> expected;  // what should have gone out, in order
    Sent sent;
    uint32_t next_number = 1;
    int replies = 0;
    auto release_front = [&] {
      while (!model.empty() && !model.front().text.empty()) {
        expected.push_back(model.front().text);
        model.pop_front();
      }
    };
    for (int step = 0; step < 3000; ++step) {
      uint32_t op = rng() % 10;
      SCOPED_TRACE(testing::Message() << "step " << step << " op " << op);
      if (op < 4) {
        std::optional<uint64_t> id;
        if (rng() % 2) id = rng();
        uint32_t n = tickets->Reserve(id);
        ASSERT_EQ(n, next_number++);
        const ReplyTickets::Ticket* t = tickets->Find(n);
        ASSERT_NE(t, nullptr);
        ASSERT_EQ(t->id, id);
        model.push_back({n, ""});
      } else if (op < 6) {
        std::string text = "ready " + std::to_string(replies++);
        core::SharedFrame* f = Reply(text);
        if (tickets->ParkBehind(f)) {
          ASSERT_FALSE(model.empty());
          model.push_back({next_number++, text});
        } else {
          ASSERT_TRUE(model.empty());
          expected.push_back(text);
          sent.Emit()(f);  // out at once
        }
      } else {
        std::vector<size_t> open;
        for (size_t i = 0; i < model.size(); ++i) {
          if (model[i].text.empty()) open.push_back(i);
        }
        if (open.empty()) continue;
        Waiting& w = model[open[rng() % open.size()]];
        w.text = "answer " + std::to_string(replies++);
        tickets->Complete(w.number, Reply(w.text), sent.Emit());
        release_front();
      }
      ASSERT_EQ(sent.texts, expected);
      ASSERT_EQ(tickets->size(), model.size());
      ASSERT_EQ(tickets->empty(), model.empty());
    }
    tickets.reset();
  }
}

}  // namespace
}  // namespace ringcast::shard

namespace ringcast::shard {
namespace {

// Tickets are found by their distance from the front; the numbering skips 0
// when it wraps, and a lookup across the wrap still finds each one.
TEST(ReplyTicketsTest, TicketsAcrossTheWrapAreFoundAndAnsweredInOrder) {
  ReplyTickets tickets(0xfffffffeu);
  std::vector<uint32_t> numbers;
  for (int i = 0; i < 4; ++i) numbers.push_back(tickets.Reserve(i));
  EXPECT_EQ(numbers, (std::vector<uint32_t>{0xfffffffeu, 0xffffffffu, 1u, 2u}));
  for (int i = 0; i < 4; ++i) {
    const ReplyTickets::Ticket* t = tickets.Find(numbers[i]);
    ASSERT_NE(t, nullptr) << numbers[i];
    EXPECT_EQ(t->id, static_cast<uint64_t>(i));
  }
  EXPECT_EQ(tickets.Find(0), nullptr);
  EXPECT_EQ(tickets.Find(3), nullptr);
  EXPECT_EQ(tickets.Find(0xfffffffdu), nullptr);
  Sent sent;
  tickets.Complete(numbers[2], Reply("c"), sent.Emit());
  tickets.Complete(numbers[0], Reply("a"), sent.Emit());
  EXPECT_EQ(tickets.Find(numbers[0]), nullptr);
  ASSERT_NE(tickets.Find(numbers[3]), nullptr);
  tickets.Complete(numbers[3], Reply("d"), sent.Emit());
  tickets.Complete(numbers[1], Reply("b"), sent.Emit());
  EXPECT_EQ(sent.texts, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_TRUE(tickets.empty());
  EXPECT_EQ(tickets.held_bytes(), 0u);
}

}  // namespace
}  // namespace ringcast::shard
