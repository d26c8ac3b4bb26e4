// Backpressure through Sessions: publishers stop being read while the queues
// of any shard hold more than the mark, or the bus toward any shard more
// than its mark, and what they sent meanwhile is handled, in order, once
// both are back at their resume marks.
#include "shard/backpressure.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/shard/session_fakes.h"

namespace ringcast::shard {
namespace {

using fakes::ClientFrame;
using fakes::ClientText;
using fakes::FakeIo;
using fakes::Harness;
using fakes::SmallOptions;
using fakes::UpgradeHead;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kMark = 128 * kMiB;       // max(128 MiB, 4 x 4096)
constexpr uint64_t kResume = kMark / 4 * 3;  // where paused publishers are read again

using Texts = std::vector<std::string>;

TEST(BackpressureTest, PublisherIsPausedAndWhatArrivesMeanwhileWaitsInOrder) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  size_t arms = h.io().arm_count[7];
  h.io().peer_pressure = kMark + 1;

  h.Round([&] { h.Receive(slot, ClientText("pub 1")); });
  EXPECT_EQ(h.events().TextsOf(slot), Texts{"pub 1"});
  EXPECT_TRUE(h.sessions().At(slot).paused);
  ASSERT_EQ(h.io().cancels.size(), 1u) << "the multishot receive is cancelled";
  EXPECT_EQ(h.io().cancels[0], h.sessions().HandleOf(slot));
  EXPECT_EQ(h.stats().publishers_paused.load(), 1u);

  // What was already in the completion queue, then the cancellation.
  h.Round([&] {
    std::string two = ClientText("pub 2");
    h.Receive(slot, two + ClientText("pub 3") + two.substr(0, 3));  // and a partial frame
    h.Receive(slot, two.substr(3) + ClientText("plain 4"));
    h.ReceiveResult(slot, -ECANCELED, /*more=*/false);
  });
  EXPECT_EQ(h.events().TextsOf(slot), Texts{"pub 1"}) << "nothing read while paused";
  EXPECT_EQ(h.io().arm_count[7], arms) << "not re-armed while paused";

  // Below the mark but above the resume point: still paused.
  h.io().peer_pressure = kResume + 1;
  h.Run(200);
  EXPECT_EQ(h.events().TextsOf(slot), Texts{"pub 1"});
  EXPECT_EQ(h.io().arm_count[7], arms);
  EXPECT_TRUE(h.sessions().At(slot).paused);

  // At the resume point: the deferred input goes up in order and the receive is re-armed.
  h.io().peer_pressure = kResume;
  h.Round();
  EXPECT_EQ(h.events().TextsOf(slot), (Texts{"pub 1", "pub 2", "pub 3", "pub 2", "plain 4"}));
  EXPECT_FALSE(h.sessions().At(slot).paused);
  EXPECT_EQ(h.io().arm_count[7], arms + 1);
  EXPECT_FALSE(h.sessions().At(slot).deferred);

  h.Round([&] { h.Receive(slot, ClientText("pub 5")); });
  EXPECT_EQ(h.events().TextsOf(slot).back(), "pub 5");
  EXPECT_EQ(h.stats().publishers_paused.load(), 1u);
}

TEST(BackpressureTest, BusMarksAreARingAndHalfOneButNeverBelowTwoAndOneOfTheSmallestRings) {
  EXPECT_EQ(Backpressure::BusPauseMark(131072), 131072u);
  EXPECT_EQ(Backpressure::BusResumeMark(131072), 65536u);
  EXPECT_EQ(Backpressure::BusPauseMark(32768), 32768u);
  EXPECT_EQ(Backpressure::BusResumeMark(32768), 16384u);
  EXPECT_EQ(Backpressure::BusPauseMark(16384), 32768u);  // six shards and up: as before
  EXPECT_EQ(Backpressure::BusResumeMark(16384), 16384u);
  Harness h;  // its io answers BusRingCapacity() with FakeIo::kBusRingCapacity
  EXPECT_EQ(h.sessions().bus_resume_mark(), 32768u);
}

TEST(BackpressureTest, PublisherIsPausedWhileTheBusIsBackloggedAndResumesOnceItDrains) {
  const uint64_t kPause = Backpressure::BusPauseMark(FakeIo::kBusRingCapacity);
  const uint64_t kBusResume = Backpressure::BusResumeMark(FakeIo::kBusRingCapacity);
  ASSERT_LT(kBusResume, kPause);
  Harness h;
  uint32_t slot = h.OpenSession(7);
  size_t arms = h.io().arm_count[7];

  // At the mark, not past it: read as usual.
  h.io().bus_backlog = kPause;
  h.Round([&] { h.Receive(slot, ClientText("pub 1")); });
  EXPECT_FALSE(h.sessions().At(slot).paused);
  EXPECT_TRUE(h.io().cancels.empty());

  // Past it: the publication that got there is handled, then reading stops.
  h.io().bus_backlog = kPause + 1;
  h.Round([&] { h.Receive(slot, ClientText("pub 2")); });
  EXPECT_EQ(h.events().TextsOf(slot), (Texts{"pub 1", "pub 2"}));
  EXPECT_TRUE(h.sessions().At(slot).paused);
  ASSERT_EQ(h.io().cancels.size(), 1u) << "the multishot receive is cancelled";
  EXPECT_EQ(h.stats().publishers_paused.load(), 1u);
  EXPECT_EQ(h.sessions().paused_publishers(), 1u);
  h.Round([&] {
    h.Receive(slot, ClientText("pub 3") + ClientText("plain 4"));
    h.ReceiveResult(slot, -ECANCELED, /*more=*/false);
  });

  // Draining, but not yet down to the resume mark: still paused.
  h.io().bus_backlog = kBusResume + 1;
  h.Run(200);
  EXPECT_EQ(h.events().TextsOf(slot), (Texts{"pub 1", "pub 2"}));
  EXPECT_EQ(h.io().arm_count[7], arms);
  EXPECT_TRUE(h.sessions().At(slot).paused);

  // At the resume mark: what waited goes up in order, the receive is re-armed.
  h.io().bus_backlog = kBusResume;
  h.Round();
  EXPECT_EQ(h.events().TextsOf(slot), (Texts{"pub 1", "pub 2", "pub 3", "plain 4"}));
  EXPECT_FALSE(h.sessions().At(slot).paused);
  EXPECT_EQ(h.io().arm_count[7], arms + 1);
  EXPECT_EQ(h.sessions().paused_publishers(), 0u);
}

TEST(BackpressureTest, APausedPublisherWaitsForBothTheQueuesAndTheBus) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  h.io().peer_pressure = kMark + 1;
  h.io().bus_backlog = Backpressure::BusPauseMark(FakeIo::kBusRingCapacity) + 1;
  h.Round([&] { h.Receive(slot, ClientText("pub 1")); });
  h.Round([&] { h.ReceiveResult(slot, -ECANCELED, false); });
  ASSERT_TRUE(h.sessions().At(slot).paused);
  h.io().peer_pressure = 0;  // the subscribers caught up; the bus did not
  h.Run(100);
  EXPECT_TRUE(h.sessions().At(slot).paused);
  h.io().peer_pressure = kResume + 1;  // the bus drained; the queues grew again
  h.io().bus_backlog = 0;
  h.Run(100);
  EXPECT_TRUE(h.sessions().At(slot).paused);
  h.io().peer_pressure = kResume;
  h.Round();
  EXPECT_FALSE(h.sessions().At(slot).paused);
  EXPECT_EQ(h.stats().publishers_paused.load(), 1u);
}

TEST(BackpressureTest, TheApiKeyIsNeverPausedOnTheBus) {
  ServerOptions o = SmallOptions();
  o.api_key = "k3y";
  Harness h(o);
  uint32_t server = h.OpenSession(8, UpgradeHead("/ws", "Authorization: apikey k3y\r\n"));
  ASSERT_TRUE(h.sessions().At(server).is_server);
  h.io().bus_backlog = 100 * Backpressure::BusPauseMark(FakeIo::kBusRingCapacity);
  h.Round([&] { h.Receive(server, ClientText("pub a")); });
  EXPECT_FALSE(h.sessions().At(server).paused);
  EXPECT_TRUE(h.io().cancels.empty());
}

TEST(BackpressureTest, ThisShardsOwnQueuesCountToo) {
  ServerOptions o = SmallOptions();
  o.max_queued_bytes = 32 * kMiB;  // mark: 128 MiB; a burst is cut only past 512 MiB
  Harness h(o);
  uint32_t pub = h.OpenSession(7);
  uint32_t sub = h.OpenSession(8);
  // 130 MiB waiting for a subscriber that does not read.
  h.Round([&] {
    for (int i = 0; i < 130; ++i) {
      h.sessions().Enqueue(h.sessions().At(sub), sub, h.Text(std::string(kMiB - 4, 's')));
    }
  });
  ASSERT_GT(h.sessions().queued_total(), 4 * o.max_queued_bytes);
  h.Round([&] { h.Receive(pub, ClientText("pub 1")); });
  EXPECT_TRUE(h.sessions().At(pub).paused);
  h.Round([&] { h.ReceiveResult(pub, -ECANCELED, false); });
  // The subscriber reads it all: the publisher resumes.
  for (int i = 0; i < 5 && h.sessions().At(pub).paused; ++i) h.Round([&] { h.CompleteSend(sub); });
  EXPECT_FALSE(h.sessions().At(pub).paused);
}

TEST(BackpressureTest, ConnectionsThatOnlyReadOrHoldTheApiKeyAreNeverPaused) {
  ServerOptions o = SmallOptions();
  o.api_key = "k3y";
  Harness h(o);
  uint32_t reader = h.OpenSession(7);
  uint32_t server = h.OpenSession(8, UpgradeHead("/ws", "Authorization: apikey k3y\r\n"));
  ASSERT_TRUE(h.sessions().At(server).is_server);
  h.io().peer_pressure = 10 * kMark;
  h.Round([&] {
    h.Receive(reader, ClientText("sub a"));
    h.Receive(server, ClientText("pub a"));
  });
  EXPECT_FALSE(h.sessions().At(reader).paused);
  EXPECT_FALSE(h.sessions().At(server).paused);
  EXPECT_TRUE(h.io().cancels.empty());
  EXPECT_EQ(h.stats().publishers_paused.load(), 0u);
}

TEST(BackpressureTest, ResumedInputThatPublishesPausesAgainAndKeepsTheRest) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  h.io().peer_pressure = kMark + 1;
  h.Round([&] { h.Receive(slot, ClientText("pub 0")); });
  // 40 publications of 1 KiB: more than one resume slice (Backpressure::kSliceBytes).
  std::string burst;
  Texts expected{"pub 0"};
  for (int i = 1; i <= 40; ++i) {
    std::string m = "pub " + std::to_string(i) + " " + std::string(1000, 'x');
    burst += ClientText(m);
    expected.push_back(m);
  }
  h.Round([&] {
    h.Receive(slot, burst);
    h.ReceiveResult(slot, -ECANCELED, false);
  });
  // Pressure halves, then rises again while the first slice is fed: the
  // publisher pauses again after that slice, the rest stays deferred.
  h.io().peer_pressure = 0;
  h.events().on_text = [&](Connection& c, uint32_t, std::string_view) {
    h.io().peer_pressure = kMark + 1;
    return c.state == ConnState::kOpen;
  };
  h.Round();
  size_t fed = h.events().TextsOf(slot).size();
  EXPECT_GT(fed, 1u);
  EXPECT_LT(fed, 41u);
  EXPECT_TRUE(h.sessions().At(slot).paused);
  EXPECT_EQ(h.stats().publishers_paused.load(), 2u);
  h.events().on_text = nullptr;
  h.io().peer_pressure = 0;
  h.Round();
  EXPECT_EQ(h.events().TextsOf(slot), expected) << "every publication once, in order";
  EXPECT_FALSE(h.sessions().At(slot).paused);
}

// n publications of ~1 KiB in client frames; their texts go to *texts.
std::string Burst(int n, Texts* texts) {
  std::string bytes;
  for (int i = 0; i < n; ++i) {
    std::string m = "pub " + std::to_string(i) + " " + std::string(1000, 'x');
    bytes += ClientText(m);
    texts->push_back(m);
  }
  return bytes;
}

// A receive of many publications is fed in slices: the publisher pauses at
// the first slice past the mark, not after the whole receive buffer, and the
// rest waits, in order, for the resume.
TEST(BackpressureTest, AReceivePausesWithinASliceOfTheMark) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  Texts expected;
  std::string burst = Burst(16, &expected);  // 16 KiB, a receive buffer: four slices
  static_assert(Backpressure::kSliceBytes < 16 * 1000);
  h.events().on_text = [&](Connection& c, uint32_t, std::string_view) {
    h.io().peer_pressure = kMark + 1;  // the first publication fills the queues
    return c.state == ConnState::kOpen;
  };
  h.Round([&] { h.Receive(slot, burst); });
  size_t fed = h.events().TextsOf(slot).size();
  EXPECT_GE(fed, 1u);
  EXPECT_LE(fed, Backpressure::kSliceBytes / 1000 + 1) << "at most one slice past the mark";
  EXPECT_TRUE(h.sessions().At(slot).paused);
  ASSERT_TRUE(h.sessions().At(slot).deferred);
  h.events().on_text = nullptr;
  h.Round([&] { h.ReceiveResult(slot, -ECANCELED, false); });
  h.io().peer_pressure = 0;
  h.Round();
  EXPECT_EQ(h.events().TextsOf(slot), expected) << "every publication once, in order";
  EXPECT_FALSE(h.sessions().At(slot).paused);
}

// Publications sent in the same read as the upgrade request are input like
// any other: fed in slices, so the publisher pauses part-way through them.
TEST(BackpressureTest, PublicationsBehindTheUpgradeArePausedWithinASlice) {
  Harness h;
  std::optional<uint32_t> slot;
  h.Round([&] { slot = h.Accept(7); });
  ASSERT_TRUE(slot);
  Texts expected;
  std::string burst = Burst(16, &expected);
  h.events().on_text = [&](Connection& c, uint32_t, std::string_view) {
    h.io().peer_pressure = kMark + 1;
    return c.state == ConnState::kOpen;
  };
  h.Round([&] { h.Receive(*slot, UpgradeHead() + burst); });
  ASSERT_EQ(h.sessions().At(*slot).state, ConnState::kOpen);
  EXPECT_LE(h.events().TextsOf(*slot).size(), Backpressure::kSliceBytes / 1000 + 1);
  EXPECT_TRUE(h.sessions().At(*slot).paused);
  h.events().on_text = nullptr;
  h.io().peer_pressure = 0;
  for (int i = 0; i < 8 && h.sessions().At(*slot).paused; ++i) h.Round([&] { h.AckAll(); });
  h.Round([&] { h.AckAll(); });
  EXPECT_EQ(h.events().TextsOf(*slot), expected) << "every publication once, in order";
}

// The resume mark is on the sum of the queues: a connection whose queue runs
// dry resumes the publisher as long as the sum is under the pause mark,
// however slowly the rest are read; over the mark it still waits, and the
// publisher's own answers running dry do not count.
TEST(BackpressureTest, AQueueRunningDryResumesThePublisherUnderTheMark) {
  Harness h;
  uint32_t pub = h.OpenSession(7);
  uint32_t sub = h.OpenSession(8);
  h.io().peer_pressure = kMark + 1;
  h.Round([&] { h.Receive(pub, ClientText("pub 1")); });
  h.Round([&] { h.ReceiveResult(pub, -ECANCELED, false); });
  ASSERT_TRUE(h.sessions().At(pub).paused);
  uint64_t drained = h.stats().drained_while_paused.load();

  // Over the mark: a queue running dry does not resume it.
  h.Round([&] { h.sessions().Enqueue(h.sessions().At(sub), sub, h.Text("a")); });
  ASSERT_TRUE(h.HasPendingSend(sub));
  h.Round([&] { h.CompleteSend(sub); });
  EXPECT_EQ(h.stats().drained_while_paused.load(), drained + 1);
  EXPECT_TRUE(h.sessions().At(pub).paused);

  // Under the mark but above the resume point: paused while no queue runs dry...
  h.io().peer_pressure = kResume + 1;
  h.Round([&] { h.sessions().Enqueue(h.sessions().At(sub), sub, h.Text("b")); });
  h.Run(100, 20, /*ack=*/false);
  EXPECT_TRUE(h.sessions().At(pub).paused);
  // The paused publisher's own answers running dry do not count...
  h.Round([&] { h.sessions().Enqueue(h.sessions().At(pub), pub, h.Text("its ack")); });
  ASSERT_TRUE(h.HasPendingSend(pub));
  h.Round([&] { h.CompleteSend(pub); });
  EXPECT_EQ(h.stats().drained_while_paused.load(), drained + 1);
  EXPECT_TRUE(h.sessions().At(pub).paused);
  // ...a subscriber's do: resumed in the round where one runs dry.
  h.Round([&] { h.CompleteSend(sub); });
  EXPECT_EQ(h.stats().drained_while_paused.load(), drained + 2);
  EXPECT_FALSE(h.sessions().At(pub).paused);
  EXPECT_EQ(h.sessions().paused_publishers(), 0u);
}

TEST(BackpressureTest, StuckSubscribersAreCutWhilePublishersWait) {
  Harness h;
  uint32_t pub = h.OpenSession(7);
  uint32_t sub = h.OpenSession(8);
  uint32_t reading = h.OpenSession(9);
  h.io().peer_pressure = kMark + 1;
  h.Round([&] {
    h.sessions().Enqueue(h.sessions().At(sub), sub, h.Text("never read"));
    h.Receive(pub, ClientText("pub 1"));
  });
  ASSERT_TRUE(h.sessions().At(pub).paused);
  // `sub` never completes its send; the others read everything.
  for (int i = 0; i < 100; ++i) {  // 2 s
    h.Step(20, [&] {
      if (h.HasPendingSend(pub)) h.CompleteSend(pub);
      if (h.HasPendingSend(reading)) h.CompleteSend(reading);
      h.sessions().Enqueue(h.sessions().At(reading), reading, h.Text("tick"));
    });
  }
  EXPECT_EQ(h.sessions().At(sub).state, ConnState::kOpen) << "stuck for 2 s: not yet";
  h.Run(1100, 20, /*ack=*/false);
  EXPECT_EQ(h.sessions().At(sub).state, ConnState::kClosing);
  EXPECT_EQ(h.stats().slow_consumer_closes.load(), 1u);
  EXPECT_EQ(h.sessions().At(reading).state, ConnState::kOpen);
  EXPECT_EQ(h.sessions().At(pub).state, ConnState::kOpen);
}

// Regression: while a publisher is
// paused its silence is ours (OnKeepalive skips it), but resuming does not
// reset c.last_rx_ms. A publisher paused for longer than idle_timeout_ms that
// has nothing more to send when it resumes is closed 1000 "idle timeout" at
// the next keepalive check, without ever having been pinged, although it
// answers pings. Fixed; this keeps it so.
TEST(BackpressureTest, AResumedPublisherIsNotClosedIdleForOurSilence) {
  ServerOptions o = SmallOptions();
  o.ping_interval_ms = 100;
  o.idle_timeout_ms = 300;
  Harness h(o);
  uint32_t slot = h.OpenSession(7);
  h.io().peer_pressure = kMark + 1;
  h.Round([&] { h.Receive(slot, ClientText("pub 1")); });
  h.Round([&] { h.ReceiveResult(slot, -ECANCELED, false); });
  h.Run(1000);  // paused for a second
  ASSERT_TRUE(h.sessions().At(slot).paused);
  ASSERT_FALSE(h.View(7).FirstClose());
  h.io().peer_pressure = 0;
  // A peer that answers every ping.
  size_t answered = 0;
  for (int i = 0; i < 100; ++i) {
    h.Step(10, [&] {
      h.AckAll();
      if (h.sessions().At(slot).state != ConnState::kOpen) return;
      for (size_t pings = h.View(7).Count(0x9); answered < pings; ++answered) {
        h.Receive(slot, ClientFrame(0xA, ""));
      }
    });
  }
  h.Sync();
  std::optional<fakes::ServerFrame> close = h.View(7).FirstClose();
  EXPECT_FALSE(close) << "closed " << close->close_code() << " \"" << close->close_reason()
                      << "\" after " << h.View(7).Count(0x9) << " pings";
}

}  // namespace
}  // namespace ringcast::shard
