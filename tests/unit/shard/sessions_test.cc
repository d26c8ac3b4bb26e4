// Sessions driven round by round through fakes (session_fakes.h): what a
// client would see on its socket, and what the I/O layer is asked to do,
// for the handshake, failures the ring reports, slow consumers, keepalive,
// token expiry, drain and reply ordering. No sockets, no sleeps: time moves
// only when a test moves it.
#include "shard/sessions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/shard/session_fakes.h"

namespace ringcast::shard {
namespace {

using fakes::ClientClose;
using fakes::ClientFrame;
using fakes::ClientText;
using fakes::ClientView;
using fakes::Harness;
using fakes::ServerFrame;
using fakes::SmallOptions;
using fakes::UpgradeHead;

std::string Bytes(const core::SharedFrame* f) {
  return std::string(reinterpret_cast<const char*>(f->data()), f->size());
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// ===================================================================== upgrade

TEST(SessionsUpgradeTest, ValidHeadQueues101ThenWelcomeInOneSendAndOpensOnce) {
  Harness h;
  std::optional<uint32_t> slot;
  h.Round([&] { slot = h.Accept(7); });
  ASSERT_TRUE(slot);
  EXPECT_EQ(h.io().arm_count[7], 1u);
  EXPECT_TRUE(h.events().opened.empty());

  h.Round([&] { h.Receive(*slot, UpgradeHead("/ws?user=alice")); });
  ASSERT_TRUE(h.HasPendingSend(*slot));
  EXPECT_EQ(h.io().SendsTo(7), 1u) << "the 101 and the welcome are corked into one sendmsg";
  h.Round([&] { h.AckAll(); });

  ClientView v = h.View(7);
  EXPECT_TRUE(StartsWith(v.http_head, "HTTP/1.1 101 Switching Protocols\r\n")) << v.http_head;
  EXPECT_NE(v.http_head.find("Sec-WebSocket-Accept: " + std::string(fakes::kAccept) + "\r\n"),
            std::string::npos)
      << v.http_head;
  ASSERT_EQ(v.frames.size(), 1u);
  EXPECT_TRUE(v.frames[0].IsText());
  EXPECT_FALSE(v.frames[0].masked);
  EXPECT_NE(v.frames[0].payload.find(R"("op":"welcome")"), std::string::npos)
      << v.frames[0].payload;
  EXPECT_NE(v.frames[0].payload.find(R"("user":"alice")"), std::string::npos)
      << v.frames[0].payload;
  EXPECT_NE(v.frames[0].payload.find(R"("sid":")" + h.sessions().SidOf(*slot) + "\""),
            std::string::npos)
      << v.frames[0].payload;
  core::SlabHandle handle = h.sessions().HandleOf(*slot);
  EXPECT_EQ(h.sessions().SidOf(*slot),  // node, shard, slot, generation
            "n1-0-" + std::to_string(handle.slot) + "-" + std::to_string(handle.gen));
  EXPECT_EQ(v.partial, 0u);

  h.Run(200);
  EXPECT_EQ(h.events().opened, std::vector<uint32_t>{*slot});
  EXPECT_EQ(h.stats().handshakes_failed.load(), 0u);
  EXPECT_EQ(h.sessions().At(*slot).state, ConnState::kOpen);
}

TEST(SessionsUpgradeTest, BytesRightBehindTheHeadAreWebSocketInput) {
  Harness h;
  std::optional<uint32_t> slot;
  h.Round([&] { slot = h.Accept(7); });
  size_t opened_at_first_text = 99;
  h.events().on_text = [&](Connection& c, uint32_t, std::string_view) {
    if (opened_at_first_text == 99) opened_at_first_text = h.events().opened.size();
    return c.state == ConnState::kOpen;
  };
  std::string second = ClientText("world");
  // The head, a whole frame and half of the next, in one receive.
  h.Round([&] { h.Receive(*slot, UpgradeHead() + ClientText("hello") + second.substr(0, 4)); });
  EXPECT_EQ(h.events().TextsOf(*slot), std::vector<std::string>{"hello"});
  EXPECT_EQ(opened_at_first_text, 1u) << "OnOpen comes before the first message";
  h.Round([&] { h.Receive(*slot, second.substr(4)); });
  EXPECT_EQ(h.events().TextsOf(*slot), (std::vector<std::string>{"hello", "world"}));
  // And a ping right behind the head is answered after the welcome.
  Harness h2;
  h2.Round([&] { slot = h2.Accept(8); });
  h2.Round([&] { h2.Receive(*slot, UpgradeHead() + ClientFrame(0x9, "p!")); });
  h2.Round([&] { h2.AckAll(); });
  ClientView v = h2.View(8);
  ASSERT_EQ(v.frames.size(), 2u);
  EXPECT_TRUE(v.frames[0].IsText());
  EXPECT_TRUE(v.frames[1].IsPong());
  EXPECT_EQ(v.frames[1].payload, "p!");
}

TEST(SessionsUpgradeTest, PartialHeadIsKeptUntilItCompletes) {
  Harness h;
  std::optional<uint32_t> slot;
  h.Round([&] { slot = h.Accept(7); });
  std::string head = UpgradeHead() + ClientText("early");
  // One byte per receive (and round): nothing goes out until the blank line.
  size_t head_end = head.find("\r\n\r\n") + 4;
  for (size_t i = 0; i + 1 < head_end; ++i) {
    h.Round([&] { h.Receive(*slot, head.substr(i, 1)); });
    ASSERT_FALSE(h.HasPendingSend(*slot)) << "answered after " << i + 1 << " bytes";
  }
  EXPECT_TRUE(h.events().opened.empty());
  h.Round([&] { h.Receive(*slot, head.substr(head_end - 1)); });
  EXPECT_EQ(h.events().opened.size(), 1u);
  EXPECT_EQ(h.events().TextsOf(*slot), std::vector<std::string>{"early"});
  h.Round([&] { h.AckAll(); });
  EXPECT_TRUE(StartsWith(h.wire(7), "HTTP/1.1 101 "));
  EXPECT_FALSE(h.sessions().At(*slot).head) << "the partial head is freed once used";
}

// A refused handshake: the error goes out, the write side is shut once it
// is out, the peer's EOF frees the connection; it never opens.
void ExpectRefused(Harness& h, uint32_t slot, int fd, std::string_view status_line) {
  h.Round([&] { h.AckAll(); });
  EXPECT_TRUE(StartsWith(h.wire(fd), status_line)) << h.wire(fd);
  EXPECT_NE(h.wire(fd).find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(h.io().ShutdownCount(fd, SHUT_WR), 1u);
  EXPECT_TRUE(h.events().opened.empty());
  EXPECT_EQ(h.stats().handshakes_failed.load(), 1u);
  h.Round([&] { h.ReceiveResult(slot, 0); });
  EXPECT_EQ(h.events().FreedCount(fd), 1u);
  EXPECT_FALSE(h.sessions().IsLive(slot));
  EXPECT_EQ(h.sessions().pools().live_frames(), 0u);
}

TEST(SessionsUpgradeTest, MalformedHeadGets400) {
  Harness h;
  std::optional<uint32_t> slot;
  h.Round([&] { slot = h.Accept(7); });
  h.Round([&] { h.Receive(*slot, "GET /ws HTTP/1.1\r\nHost example.test\r\n\r\n"); });
  ExpectRefused(h, *slot, 7, "HTTP/1.1 400 ");
}

TEST(SessionsUpgradeTest, UpgradeWithoutKeyGets400) {
  Harness h;
  std::optional<uint32_t> slot;
  h.Round([&] { slot = h.Accept(7); });
  h.Round([&] {
    h.Receive(*slot,
              "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Version: 13\r\n\r\n");
  });
  ExpectRefused(h, *slot, 7, "HTTP/1.1 400 ");
}

TEST(SessionsUpgradeTest, OversizedHeadGets431EvenWhileIncomplete) {
  Harness h;  // max_head_bytes 1024
  std::optional<uint32_t> slot;
  h.Round([&] { slot = h.Accept(7); });
  std::string start = "GET /ws HTTP/1.1\r\nHost: a\r\nX-Pad: ";
  h.Round([&] { h.Receive(*slot, start + std::string(500, 'a')); });
  EXPECT_FALSE(h.HasPendingSend(*slot)) << "under the limit: still waiting for the rest";
  h.Round([&] { h.Receive(*slot, std::string(600, 'a')); });  // no blank line yet
  ExpectRefused(h, *slot, 7, "HTTP/1.1 431 ");
}

TEST(SessionsUpgradeTest, WrongOriginGets403AndAllowedOriginOpens) {
  ServerOptions o = SmallOptions();
  o.origins = {"https://good.test"};
  {
    Harness h(o);
    std::optional<uint32_t> slot;
    h.Round([&] { slot = h.Accept(7); });
    h.Round([&] { h.Receive(*slot, UpgradeHead("/ws", "Origin: https://evil.test\r\n")); });
    ExpectRefused(h, *slot, 7, "HTTP/1.1 403 ");
  }
  {
    Harness h(o);
    h.OpenSession(7, UpgradeHead("/ws", "Origin: https://good.test\r\n"));
    EXPECT_TRUE(StartsWith(h.wire(7), "HTTP/1.1 101 "));
  }
}

TEST(SessionsUpgradeTest, HandshakeNotDoneInTimeGets408) {
  Harness h;  // handshake_timeout_ms 500
  std::optional<uint32_t> slot;
  h.Round([&] { slot = h.Accept(7); });
  std::string head = UpgradeHead();
  // A client trickling its head does not extend the deadline.
  for (int i = 0; i < 24; ++i) {  // up to 480 ms
    h.Step(20, [&] { h.Receive(*slot, head.substr(static_cast<size_t>(i), 1)); });
    ASSERT_FALSE(h.HasPendingSend(*slot)) << "answered at +" << (i + 1) * 20 << " ms";
  }
  h.Step(20);  // +500 ms
  ASSERT_TRUE(h.HasPendingSend(*slot));
  ExpectRefused(h, *slot, 7, "HTTP/1.1 408 ");
}

TEST(SessionsUpgradeTest, OpenSessionOutlivesTheHandshakeTimer) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  h.Run(2000);
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kOpen);
  EXPECT_EQ(h.stats().handshakes_failed.load(), 0u);
}

TEST(SessionsUpgradeTest, AcceptBeyondCapacityIsRefused) {
  ServerOptions o = SmallOptions();
  o.max_connections_per_shard = 2;
  o.http_reserve_per_shard = 0;
  Harness h(o);
  std::optional<uint32_t> a, b, c;
  h.Round([&] {
    a = h.Accept(7);
    b = h.Accept(8);
    c = h.Accept(9);
  });
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  EXPECT_FALSE(c);
  EXPECT_EQ(h.stats().connections_rejected.load(), 1u);
  EXPECT_EQ(h.io().arm_count[9], 0u);
}

// =========================================================== failure injection

TEST(SessionsFailureTest, EnobufsIsCountedAndTheReceiveRearmedAtTheEndOfTheRound) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  size_t arms = h.io().arm_count[7];
  size_t arms_inside_round = 0;
  h.Round([&] {
    h.ReceiveResult(slot, -ENOBUFS, /*more=*/false);
    arms_inside_round = h.io().arm_count[7];
  });
  EXPECT_EQ(arms_inside_round, arms) << "re-armed only at the end of the round";
  EXPECT_EQ(h.io().arm_count[7], arms + 1);
  EXPECT_EQ(h.stats().recv_enobufs.load(), 1u);
  EXPECT_TRUE(h.io().shutdowns.empty());
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kOpen);
  h.Round([&] { h.Receive(slot, ClientText("still here")); });
  EXPECT_EQ(h.events().TextsOf(slot), std::vector<std::string>{"still here"});
  // Twice in a row, still one re-arm each.
  h.Round([&] { h.ReceiveResult(slot, -ENOBUFS, false); });
  h.Round([&] { h.ReceiveResult(slot, -ENOBUFS, false); });
  EXPECT_EQ(h.io().arm_count[7], arms + 3);
  EXPECT_EQ(h.stats().recv_enobufs.load(), 3u);
}

TEST(SessionsFailureTest, EnobufsDuringHandshakeKeepsThePartialHead) {
  Harness h;
  std::optional<uint32_t> slot;
  h.Round([&] { slot = h.Accept(7); });
  std::string head = UpgradeHead();
  h.Round([&] { h.Receive(*slot, head.substr(0, 30), false); });
  h.Round([&] { h.ReceiveResult(*slot, -ENOBUFS, false); });
  h.Round([&] { h.Receive(*slot, head.substr(30)); });
  EXPECT_EQ(h.events().opened.size(), 1u);
}

TEST(SessionsFailureTest, ShortSendResumesTheNextSendMidFrame) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  size_t before = h.wire(7).size();
  std::string expected;
  h.Round([&] {
    for (int i = 0; i < 3; ++i) {
      core::SharedFrame* f = h.Text(std::string(98, static_cast<char>('a' + i)));
      expected += Bytes(f);
      h.sessions().Enqueue(h.sessions().At(slot), slot, f);
    }
  });
  ASSERT_TRUE(h.HasPendingSend(slot));
  EXPECT_EQ(h.io().sends.back().iov_count, 3u);
  EXPECT_EQ(h.PendingBytes(slot), expected);
  h.Round([&] { h.CompleteSend(slot, 150); });  // the first frame and half the second
  ASSERT_TRUE(h.HasPendingSend(slot));
  EXPECT_EQ(h.PendingBytes(slot), expected.substr(150))
      << "resumes exactly where the kernel stopped";
  EXPECT_EQ(h.io().sends.back().iov_count, 2u);
  EXPECT_EQ(h.stats().short_sends.load(), 1u);
  h.Round([&] { h.CompleteSend(slot, 1); });
  EXPECT_EQ(h.PendingBytes(slot), expected.substr(151));
  h.Round([&] { h.AckAll(); });
  EXPECT_EQ(h.wire(7).substr(before), expected);
  ClientView v = h.View(7);
  EXPECT_EQ(v.texts().size(), 4u);  // the welcome and the three
  EXPECT_EQ(h.sessions().queued_total(), 0u);
  EXPECT_EQ(h.sessions().pools().live_frames(), 0u);
  EXPECT_EQ(h.sessions().pools().live_chunks(), 0u);
}

// Random frames, random iovec room, random short sends, sends left in flight
// across rounds: the peer receives exactly the queued bytes, in order.
TEST(SessionsFailureTest, ShortSendsModelCheck) {
  for (uint64_t seed : {1u, 2u, 3u, 42u, 20240601u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::printf("ShortSendsModelCheck seed %llu\n", static_cast<unsigned long long>(seed));
    std::mt19937_64 rng(seed);
    ServerOptions o = SmallOptions();
    o.max_queued_bytes = size_t{1} << 30;  // this test is about bytes, not slow consumers
    Harness h(o);
    h.io().set_max_iov(1 + rng() % 6);
    uint32_t slot = h.OpenSession(7);
    size_t before = h.wire(7).size();
    std::string expected;
    uint64_t queued = 0;
    for (int round = 0; round < 400; ++round) {
      h.Round([&] {
        if (h.HasPendingSend(slot) && rng() % 3 != 0) {
          size_t len = h.PendingBytes(slot).size();
          int res = static_cast<int>(rng() % 2 ? len : 1 + rng() % len);
          h.CompleteSend(slot, res);
        }
        int frames = static_cast<int>(rng() % 4);
        for (int i = 0; i < frames; ++i) {
          size_t n = rng() % 8 == 0 ? 126 + rng() % 70000 : rng() % 200;
          std::string payload(n, '\0');
          for (char& ch : payload) ch = static_cast<char>('a' + rng() % 26);
          core::SharedFrame* f = h.Text(payload);
          expected += Bytes(f);
          queued += f->size();
          h.sessions().Enqueue(h.sessions().At(slot), slot, f);
        }
      });
    }
    for (int i = 0; i < 10000 && h.HasPendingSend(slot); ++i) h.Round([&] { h.AckAll(); });
    ASSERT_FALSE(h.HasPendingSend(slot));
    std::string got = h.wire(7).substr(before);
    size_t diff = 0;
    while (diff < got.size() && diff < expected.size() && got[diff] == expected[diff]) ++diff;
    EXPECT_TRUE(got == expected) << "sent " << got.size() << " bytes, queued " << expected.size()
                                 << "; first difference at byte " << diff;
    EXPECT_EQ(h.sessions().queued_total(), 0u);
    EXPECT_EQ(h.sessions().pools().live_frames(), 0u);
    EXPECT_EQ(h.sessions().pools().live_chunks(), 0u);
    EXPECT_EQ(h.sessions().At(slot).state, ConnState::kOpen);
    EXPECT_EQ(h.stats().slow_consumer_closes.load(), 0u);
    EXPECT_GT(queued, 0u);
  }
}

class SessionsSendErrorTest : public ::testing::TestWithParam<int> {};

TEST_P(SessionsSendErrorTest, FailedSendTerminatesAndFreesEverythingOnce) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  core::SharedFrame* in_flight = h.Text(std::string(300, 'x'));
  core::SharedFrame* queued = h.Text(std::string(300, 'y'));
  in_flight->Ref();  // the test's own reference, to see the queues let go
  queued->Ref();
  h.Round([&] { h.sessions().Enqueue(h.sessions().At(slot), slot, in_flight); });
  ASSERT_TRUE(h.HasPendingSend(slot));
  size_t sends = h.io().sends.size();
  h.Round([&] {
    h.sessions().Enqueue(h.sessions().At(slot), slot, queued);
    h.CompleteSend(slot, GetParam());
  });
  EXPECT_EQ(h.io().ShutdownCount(7, SHUT_RDWR), 1u);
  EXPECT_EQ(h.io().sends.size(), sends) << "nothing is sent on a failed connection";
  // What was queued is dropped at once (it no longer counts as backlog), even
  // though the slot waits for the kernel.
  EXPECT_EQ(h.sessions().queued_total(), 0u);
  EXPECT_EQ(queued->refs_approx(), 1u);
  // The multishot receive is still armed: the slot waits for the kernel.
  EXPECT_TRUE(h.events().freed.empty());
  EXPECT_TRUE(h.sessions().IsLive(slot));
  h.Round([&] { h.ReceiveResult(slot, 0); });  // the shutdown ends the receive
  EXPECT_EQ(h.events().FreedCount(7), 1u);
  EXPECT_EQ(std::count(h.io().closes.begin(), h.io().closes.end(), 7), 1);
  EXPECT_FALSE(h.sessions().IsLive(slot));
  h.Run(3000);
  EXPECT_EQ(h.events().FreedCount(7), 1u);
  EXPECT_EQ(h.sessions().pools().live_frames(), 0u);
  EXPECT_EQ(h.sessions().pools().live_chunks(), 0u);
  EXPECT_EQ(h.sessions().queued_total(), 0u);
  EXPECT_EQ(h.stats().connections_open.load(), 0u);
  EXPECT_EQ(in_flight->refs_approx(), 1u);
  EXPECT_EQ(queued->refs_approx(), 1u);
  in_flight->Unref();
  queued->Unref();
}

INSTANTIATE_TEST_SUITE_P(Errnos, SessionsSendErrorTest, ::testing::Values(-ECONNRESET, -EPIPE),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return param_info.param == -ECONNRESET ? std::string("ECONNRESET")
                                                                  : std::string("EPIPE");
                         });

TEST(SessionsFailureTest, EofFreesTheConnectionInTheSameRound) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  h.Round([&] { h.ReceiveResult(slot, 0); });
  EXPECT_EQ(h.io().ShutdownCount(7, SHUT_RDWR), 1u);
  EXPECT_EQ(h.events().FreedCount(7), 1u);
  EXPECT_FALSE(h.sessions().IsLive(slot));
  EXPECT_EQ(h.stats().connections_open.load(), 0u);
  h.Run(1000);
  EXPECT_EQ(h.events().FreedCount(7), 1u);
}

TEST(SessionsFailureTest, EofWithASendInFlightWaitsForTheSendThenFreesEverything) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  core::SharedFrame* f = h.Text(std::string(1000, 'z'));
  f->Ref();
  h.Round([&] {
    h.sessions().Enqueue(h.sessions().At(slot), slot, f);
    h.sessions().Enqueue(h.sessions().At(slot), slot, h.Text("after"));
  });
  h.io().set_max_iov(1);  // (the send in flight already holds both)
  h.Round([&] { h.ReceiveResult(slot, 0); });
  EXPECT_TRUE(h.events().freed.empty()) << "freed under a send the kernel still holds";
  h.Round([&] { h.CompleteSend(slot, 10); });  // a short send of a dead connection
  EXPECT_EQ(h.events().FreedCount(7), 1u);
  EXPECT_FALSE(h.HasPendingSend(slot)) << "nothing more is sent to a dead connection";
  EXPECT_EQ(h.sessions().pools().live_frames(), 0u);
  EXPECT_EQ(h.sessions().queued_total(), 0u);
  EXPECT_EQ(f->refs_approx(), 1u);
  f->Unref();
}

TEST(SessionsFailureTest, EofDuringHandshakeFreesThePartialHead) {
  Harness h;
  std::optional<uint32_t> slot;
  h.Round([&] { slot = h.Accept(7); });
  h.Round([&] { h.Receive(*slot, "GET /ws HTTP/1.1\r\nHo"); });
  h.Round([&] { h.ReceiveResult(*slot, 0); });
  EXPECT_EQ(h.events().FreedCount(7), 1u);
  EXPECT_TRUE(h.events().opened.empty());
  h.Run(1000);  // its handshake timer finds nothing
  EXPECT_EQ(h.events().FreedCount(7), 1u);
  EXPECT_TRUE(h.io().sends.empty());
}

TEST(SessionsFailureTest, ProtocolErrorClosesWith1002) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  std::string unmasked = ClientText("x");
  unmasked[1] = static_cast<char>(unmasked[1] & 0x7f);  // clear the mask bit
  unmasked.erase(2, 4);                                 // and drop the key
  h.Round([&] { h.Receive(slot, unmasked); });
  h.Round([&] { h.AckAll(); });
  std::optional<ServerFrame> close = h.View(7).FirstClose();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code(), 1002);
  EXPECT_EQ(h.stats().protocol_closes.load(), 1u);
  EXPECT_TRUE(h.events().TextsOf(slot).empty());
}

// The peer started the close: once the echo is out the handshake is complete,
// and the server ends the socket at once (no shutdown, no half-close, no wait
// for the peer's FIN): the receive is cancelled, and once it is back the fd
// is closed, which sends the FIN.
TEST(SessionsFailureTest, PeerCloseIsEchoedThenTheSocketEnds) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  h.Round([&] { h.Receive(slot, ClientClose(1000, "bye")); });
  EXPECT_TRUE(h.io().cancels.empty()) << "not before the echo is out";
  h.Round([&] { h.AckAll(); });
  std::optional<ServerFrame> close = h.View(7).FirstClose();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code(), 1000);
  EXPECT_TRUE(h.io().shutdowns.empty());
  ASSERT_EQ(h.io().cancels.size(), 1u);
  EXPECT_EQ(h.io().cancels[0], h.sessions().HandleOf(slot));
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kDead);
  EXPECT_EQ(h.events().FreedCount(7), 0u) << "not while the receive is out";
  // The echo may wait in the kernel for the FIN (MSG_MORE): one segment.
  const std::vector<fakes::SendCall>& sends = h.io().sends;
  ASSERT_GE(sends.size(), 2u);
  EXPECT_FALSE(sends.front().fin_follows) << "the 101 and welcome go out at once";
  EXPECT_TRUE(sends.back().fin_follows);
  h.Round([&] { h.ReceiveResult(slot, -ECANCELED); });
  EXPECT_EQ(h.events().FreedCount(7), 1u);
  EXPECT_EQ(h.io().closes, std::vector<int>{7});
}

// A short send of the echo keeps the socket open until the rest is out.
TEST(SessionsFailureTest, PeerCloseEndsOnlyWhenTheWholeEchoIsOut) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  h.Round([&] { h.Receive(slot, ClientClose(1001, "going")); });
  h.Round([&] { h.CompleteSend(slot, 1); });  // one byte of the echo
  EXPECT_TRUE(h.io().cancels.empty());
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kClosing);
  EXPECT_TRUE(h.io().sends.back().fin_follows) << "the rest is still the last bytes";
  h.Round([&] { h.AckAll(); });
  std::optional<ServerFrame> close = h.View(7).FirstClose();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code(), 1001);
  EXPECT_EQ(h.io().cancels.size(), 1u);
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kDead);
}

TEST(SessionsFailureTest, PeerThatNeverFinishesTheCloseIsCutAtTheDeadline) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  h.Round([&] { h.sessions().CloseWith(h.sessions().At(slot), slot, 1000, "done"); });
  EXPECT_TRUE(h.io().sends.back().fin_follows) << "the close frame is followed by SHUT_WR";
  h.Round([&] { h.AckAll(); });
  EXPECT_EQ(h.io().ShutdownCount(7, SHUT_WR), 1u);
  EXPECT_EQ(h.io().ShutdownCount(7, SHUT_RDWR), 0u);
  h.Run(1900);
  EXPECT_EQ(h.io().ShutdownCount(7, SHUT_RDWR), 0u);
  h.Run(200);  // the 2 s close deadline
  EXPECT_EQ(h.io().ShutdownCount(7, SHUT_RDWR), 1u);
  h.Round([&] { h.ReceiveResult(slot, 0); });
  EXPECT_EQ(h.events().FreedCount(7), 1u);
}

// =============================================================== slow consumer

// Queues `bytes` in one text frame (2..4 header bytes on top).
void Queue(Harness& h, uint32_t slot, size_t payload) {
  h.sessions().Enqueue(h.sessions().At(slot), slot, h.Text(std::string(payload, 'q')));
}

TEST(SessionsSlowConsumerTest, StuckSendPastTheLimitClosesWith4000) {
  Harness h;  // max_queued_bytes 4096
  uint32_t slot = h.OpenSession(7);
  h.Round([&] { Queue(h, slot, 1000); });  // goes out at the end of this round
  ASSERT_TRUE(h.HasPendingSend(slot));
  h.Step(20, [&] { Queue(h, slot, 2000); });  // next round: the send may still complete
  EXPECT_EQ(h.stats().slow_consumer_closes.load(), 0u);
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kOpen);
  h.Step(20, [&] { Queue(h, slot, 2000); });  // stuck for two rounds, over 4096 queued
  EXPECT_EQ(h.stats().slow_consumer_closes.load(), 1u);
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kClosing);
  // The peer finally reads: what was in flight, then the close frame.
  h.Step(20, [&] { h.AckAll(); });
  h.Step(20, [&] { h.AckAll(); });
  ClientView v = h.View(7);
  ASSERT_FALSE(v.frames.empty());
  const ServerFrame& last = v.frames.back();
  ASSERT_TRUE(last.IsClose());
  EXPECT_EQ(last.close_code(), 4000);
  EXPECT_EQ(last.close_reason(), "slow consumer");
  ASSERT_EQ(v.frames.size(), 3u) << "the welcome, the frame in flight, the close";
  EXPECT_EQ(v.frames[1].payload.size(), 1000u);
  EXPECT_EQ(v.partial, 0u) << "the stream is never cut mid-frame";
  EXPECT_EQ(h.io().ShutdownCount(7, SHUT_WR), 1u);
  h.Round([&] { h.ReceiveResult(slot, 0); });
  EXPECT_EQ(h.events().FreedCount(7), 1u);
  EXPECT_EQ(h.sessions().pools().live_frames(), 0u);
  EXPECT_EQ(h.sessions().queued_total(), 0u);
}

TEST(SessionsSlowConsumerTest, ShortSendInFlightIsKeptWholeBeforeTheClose) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  h.Round([&] { Queue(h, slot, 1000); });
  h.Step(20, [&] { h.CompleteSend(slot, 300); });  // resumes mid-frame at the end of the round
  ASSERT_TRUE(h.HasPendingSend(slot));
  h.Step(20, [&] { Queue(h, slot, 2000); });
  h.Step(20, [&] { Queue(h, slot, 2000); });
  EXPECT_EQ(h.stats().slow_consumer_closes.load(), 1u);
  for (int i = 0; i < 3; ++i) h.Step(20, [&] { h.AckAll(); });
  ClientView v = h.View(7);
  ASSERT_EQ(v.frames.size(), 3u);
  EXPECT_EQ(v.frames[1].payload, std::string(1000, 'q'));
  EXPECT_EQ(v.frames[2].close_code(), 4000);
}

TEST(SessionsSlowConsumerTest, ABurstWithinOneRoundIsNotASlowConsumer) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  h.Round([&] {
    for (int i = 0; i < 12; ++i) Queue(h, slot, 1000);  // ~3x the limit
  });
  EXPECT_EQ(h.stats().slow_consumer_closes.load(), 0u);
  // And again while that send is one round old.
  h.Step(20, [&] {
    for (int i = 0; i < 12; ++i) Queue(h, slot, 1000);
  });
  EXPECT_EQ(h.stats().slow_consumer_closes.load(), 0u);
  for (int i = 0; i < 4; ++i) h.Step(20, [&] { h.AckAll(); });
  ClientView v = h.View(7);
  EXPECT_EQ(v.texts().size(), 25u);
  EXPECT_FALSE(v.FirstClose());
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kOpen);
}

TEST(SessionsSlowConsumerTest, ABurstPastSixteenTimesTheLimitIsCutAtOnce) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  int queued = 0;
  h.Round([&] {
    // As a fan-out does: only while the connection is open.
    for (; queued < 100 && h.sessions().At(slot).state == ConnState::kOpen; ++queued) {
      Queue(h, slot, 1020);
    }
  });
  EXPECT_EQ(h.stats().slow_consumer_closes.load(), 1u);
  EXPECT_EQ(queued, 65) << "cut as soon as 16 x 4096 bytes wait";
  h.Round([&] { h.AckAll(); });
  ClientView v = h.View(7);
  ASSERT_FALSE(v.frames.empty());
  EXPECT_EQ(v.frames.back().close_code(), 4000);
}

// Regression: a history replay
// enqueues its frames in a loop that checks the connection's state only
// before the loop. When the replay itself makes the subscriber a slow
// consumer (past 16 x max_queued_bytes in one go, or past max_queued_bytes
// while its send is stuck), CloseSlowConsumer queues close 4000 mid-loop and
// the rest of the replay is queued behind the close frame, and sent: data
// frames after a close frame (RFC 6455 5.5.1 forbids it), and the queue
// grows past the limit that was just enforced. Sessions::Enqueue/Reply accept
// frames for a connection that is closing; most callers check the state per
// frame (local_rooms.cc:226, users.cc:190), this loop does not. The test
// replays the loop's calls. Fixed; this keeps it so.
TEST(SessionsSlowConsumerTest, NothingIsSentAfterTheCloseFrame) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  h.Round([&] {
    Connection& c = h.sessions().At(slot);
    ASSERT_EQ(c.state, ConnState::kOpen);
    for (int i = 0; i < 80; ++i) Queue(h, slot, 1020);  // 80 KiB of replay, limit 4 KiB x 16
  });
  EXPECT_EQ(h.stats().slow_consumer_closes.load(), 1u);
  for (int i = 0; i < 4; ++i) h.Sync();
  ClientView v = h.View(7);
  size_t after_close = 0;
  bool closed = false;
  for (const ServerFrame& f : v.frames) {
    if (closed) ++after_close;
    closed = closed || f.IsClose();
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(after_close, 0u) << "frames sent after the close frame";
}

// =================================================================== keepalive

ServerOptions KeepaliveOptions(uint32_t ping_ms, uint32_t idle_ms) {
  ServerOptions o = SmallOptions();
  o.ping_interval_ms = ping_ms;
  o.idle_timeout_ms = idle_ms;
  return o;
}

// Runs rounds of `every` ms acknowledging sends; a `ponging` peer answers
// every ping it receives in the next round.
struct Peer {
  Harness& h;
  uint32_t slot;
  int fd;
  bool ponging = false;
  size_t pings_answered = 0;

  void Run(uint64_t ms, uint64_t every = 10) {
    for (uint64_t t = 0; t < ms; t += every) h.Step(every, [&] { Read(); });
    h.Round([&] { Read(); });  // what the last round sent
  }
  void Read() {
    h.AckAll();
    if (!ponging || !h.sessions().IsLive(slot)) return;
    if (h.sessions().At(slot).state != ConnState::kOpen) return;
    size_t pings = h.View(fd).Count(0x9);
    for (; pings_answered < pings; ++pings_answered) h.Receive(slot, ClientFrame(0xA, ""));
  }
  size_t pings() { return h.View(fd).Count(0x9); }
  std::optional<ServerFrame> close() { return h.View(fd).FirstClose(); }
};

TEST(SessionsKeepaliveTest, SilentConnectionIsPingedThenClosedIdle) {
  Harness h(KeepaliveOptions(100, 300));
  uint32_t slot = h.OpenSession(7);
  Peer peer{h, slot, 7};
  peer.Run(90);
  EXPECT_EQ(peer.pings(), 0u);
  peer.Run(10);  // +100: silent for the ping interval
  EXPECT_EQ(peer.pings(), 1u);
  EXPECT_TRUE(h.View(7).frames.back().IsPing());
  peer.Run(190);  // +290
  EXPECT_EQ(peer.pings(), 2u);
  EXPECT_FALSE(peer.close());
  peer.Run(10);  // +300: silent for the idle timeout
  std::optional<ServerFrame> close = peer.close();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code(), 1000);
  EXPECT_EQ(close->close_reason(), "idle timeout");
  EXPECT_EQ(h.stats().idle_closes.load(), 1u);
}

// When handshake_timeout_ms is no longer than the first keepalive check, the
// handshake timer still pending at the open runs that check: an open idle
// connection has one timer entry, not two, and is pinged and closed exactly
// as above (the ping at +100 ms, again at +200, the close at +300).
TEST(SessionsKeepaliveTest, HandshakeTimerRunsTheFirstCheckWhenItIsDueFirst) {
  for (uint32_t handshake_ms : {40u, 100u}) {
    SCOPED_TRACE(handshake_ms);
    ServerOptions o = KeepaliveOptions(100, 300);
    o.handshake_timeout_ms = handshake_ms;
    Harness h(o);
    uint32_t slot = h.OpenSession(7);
    EXPECT_EQ(h.timers().size(), 1u) << "the handshake timer only";
    Peer peer{h, slot, 7};
    peer.Run(90);
    EXPECT_EQ(peer.pings(), 0u);
    EXPECT_EQ(h.timers().size(), 1u) << "the first check re-armed as the keepalive timer";
    peer.Run(10);  // +100
    EXPECT_EQ(peer.pings(), 1u);
    peer.Run(100);  // +200
    EXPECT_EQ(peer.pings(), 2u);
    peer.Run(90);  // +290
    EXPECT_EQ(peer.pings(), 2u);
    EXPECT_FALSE(peer.close());
    peer.Run(10);  // +300
    ASSERT_TRUE(peer.close());
    EXPECT_EQ(peer.close()->close_reason(), "idle timeout");
  }
}

// A handshake timeout longer than the first check: the open arms its own
// keepalive timer beside the pending handshake timer, which then does nothing.
TEST(SessionsKeepaliveTest, LongerHandshakeTimeoutLeavesKeepaliveToItsOwnTimer) {
  ServerOptions o = KeepaliveOptions(100, 300);
  o.handshake_timeout_ms = 150;
  Harness h(o);
  uint32_t slot = h.OpenSession(7);
  EXPECT_EQ(h.timers().size(), 2u);
  Peer peer{h, slot, 7};
  peer.Run(200);  // the handshake timer fired at +150 without a check of its own
  EXPECT_EQ(peer.pings(), 2u);
  EXPECT_EQ(h.timers().size(), 1u);
  peer.Run(100);  // +300
  ASSERT_TRUE(peer.close());
  EXPECT_EQ(peer.close()->close_reason(), "idle timeout");
}

TEST(SessionsKeepaliveTest, APongResetsTheIdleClock) {
  Harness h(KeepaliveOptions(100, 300));
  uint32_t slot = h.OpenSession(7);
  Peer peer{h, slot, 7};
  peer.Run(150);
  h.Round([&] { h.Receive(slot, ClientFrame(0xA, "")); });  // +150
  peer.Run(290);                                            // +440: 290 ms silent
  EXPECT_FALSE(peer.close());
  EXPECT_EQ(h.stats().idle_closes.load(), 0u);
  peer.Run(20);  // +460
  ASSERT_TRUE(peer.close());
  EXPECT_EQ(peer.close()->close_reason(), "idle timeout");
}

TEST(SessionsKeepaliveTest, AnyBytesResetTheIdleClock) {
  Harness h(KeepaliveOptions(100, 300));
  uint32_t slot = h.OpenSession(7);
  Peer peer{h, slot, 7};
  for (int i = 0; i < 10; ++i) {  // a text every 250 ms for 2.5 s
    peer.Run(250);
    h.Round([&] { h.Receive(slot, ClientText("tick")); });
  }
  EXPECT_FALSE(peer.close());
  EXPECT_EQ(h.events().TextsOf(slot).size(), 10u);
}

TEST(SessionsKeepaliveTest, APeerAnsweringPingsStaysOpen) {
  Harness h(KeepaliveOptions(100, 300));
  uint32_t slot = h.OpenSession(7);
  Peer peer{h, slot, 7, /*ponging=*/true};
  peer.Run(3000);
  EXPECT_FALSE(peer.close());
  EXPECT_GE(peer.pings(), 9u);
}

// Regression: the next
// keepalive check is always ping_interval_ms after the last check, not
// ping_interval_ms after the last byte received, and the idle check runs
// before the ping. With ping < idle < 2 x ping (which config_flags.cc:57
// accepts: idle only has to exceed ping), a client that spoke shortly after
// a check is next looked at when it has been silent for idle_timeout_ms and
// is closed 1000 "idle timeout" without ever having been pinged, although it
// answers every ping. Here: ping 100, idle 150, a text at +10; the check at
// +100 sees 90 ms of silence (no ping) and re-arms for min(100, 150 - 90) =
// 60 ms; at +160 it sees 150 ms and closes. Fixed; this keeps it so.
TEST(SessionsKeepaliveTest, APeerAnsweringPingsIsNeverClosedIdleWhenIdleIsUnderTwicePing) {
  Harness h(KeepaliveOptions(100, 150));
  uint32_t slot = h.OpenSession(7);
  Peer peer{h, slot, 7, /*ponging=*/true};
  peer.Run(10);
  h.Round([&] { h.Receive(slot, ClientText("hello")); });
  peer.Run(2000);
  std::optional<ServerFrame> close = peer.close();
  EXPECT_FALSE(close) << "closed " << close->close_code() << " \"" << close->close_reason()
                      << "\" after " << peer.pings() << " pings";
}

TEST(SessionsKeepaliveTest, ExpiredTokenClosesWith1008) {
  ServerOptions o = SmallOptions();
  o.jwt_secret = "test-secret";
  Harness h(o);
  std::string token = fakes::SignJwt(
      R"({"sub":"alice","exp":)" + std::to_string(Harness::kStartUnixS + 2) + "}", o.jwt_secret);
  uint32_t slot = h.OpenSession(7, UpgradeHead("/ws?token=" + token));
  EXPECT_NE(h.View(7).frames.at(0).payload.find(R"("user":"alice")"), std::string::npos);
  h.Run(1980);
  EXPECT_FALSE(h.View(7).FirstClose());
  h.Run(20);  // exp
  std::optional<ServerFrame> close = h.View(7).FirstClose();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code(), 1008);
  EXPECT_EQ(close->close_reason(), "token expired");
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kClosing);
}

TEST(SessionsKeepaliveTest, AlreadyExpiredOrForgedTokenIsRefused401) {
  ServerOptions o = SmallOptions();
  o.jwt_secret = "test-secret";
  for (std::string token :
       {fakes::SignJwt(R"({"sub":"alice","exp":)" + std::to_string(Harness::kStartUnixS) + "}",
                       o.jwt_secret),
        fakes::SignJwt(R"({"sub":"alice"})", "other-secret")}) {
    Harness h(o);
    std::optional<uint32_t> slot;
    h.Round([&] { slot = h.Accept(7); });
    h.Round([&] { h.Receive(*slot, UpgradeHead("/ws?token=" + token)); });
    ExpectRefused(h, *slot, 7, "HTTP/1.1 401 ");
  }
}

// ============================================================== reply tickets

TEST(SessionsTicketsTest, ReplyParksBehindAReservedTicketUntilItCompletes) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  Connection& c = h.sessions().At(slot);
  uint32_t ticket = 0;
  h.Round([&] {
    ticket = h.sessions().ReserveTicket(c, 41);
    h.sessions().Reply(c, slot, h.Text("second"));
  });
  EXPECT_FALSE(h.HasPendingSend(slot)) << "the ready reply waits behind the ticket";
  const ReplyTickets::Ticket* t = h.sessions().FindTicket(c, ticket);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->id, std::optional<uint64_t>(41));
  h.Run(100);
  EXPECT_EQ(h.View(7).texts().size(), 1u);  // the welcome only
  h.Round([&] { h.sessions().CompleteTicket(c, slot, ticket, h.Text("first")); });
  h.Round([&] { h.AckAll(); });
  std::vector<std::string> texts = h.View(7).texts();
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(texts[1], "first");
  EXPECT_EQ(texts[2], "second");
  EXPECT_EQ(h.sessions().FindTicket(c, ticket), nullptr);
  EXPECT_FALSE(c.tickets) << "no ticket state left on an idle connection";
}

TEST(SessionsTicketsTest, TicketsCompletedOutOfOrderAreSentInCommandOrder) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  Connection& c = h.sessions().At(slot);
  uint32_t t1 = 0, t2 = 0;
  h.Round([&] {
    t1 = h.sessions().ReserveTicket(c, 1);
    t2 = h.sessions().ReserveTicket(c, 2);
    h.sessions().Reply(c, slot, h.Text("3"));
  });
  h.Round([&] { h.sessions().CompleteTicket(c, slot, t2, h.Text("2")); });
  EXPECT_FALSE(h.HasPendingSend(slot));
  h.Round([&] {
    h.sessions().CompleteTicket(c, slot, t1, h.Text("1"));
    h.sessions().Reply(c, slot, h.Text("4"));  // nothing waits any more: straight out
  });
  h.Round([&] { h.AckAll(); });
  std::vector<std::string> texts = h.View(7).texts();
  EXPECT_EQ(std::vector<std::string>(texts.begin() + 1, texts.end()),
            (std::vector<std::string>{"1", "2", "3", "4"}));
}

TEST(SessionsTicketsTest, TicketAnsweredAfterTheCloseIsDroppedNotLeaked) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  Connection& c = h.sessions().At(slot);
  uint32_t ticket = 0;
  core::SharedFrame* parked = h.Text("parked");
  core::SharedFrame* late = h.Text("late");
  parked->Ref();
  late->Ref();
  h.Round([&] {
    ticket = h.sessions().ReserveTicket(c, 1);
    h.sessions().Reply(c, slot, parked);
    h.sessions().CloseWith(c, slot, 1000, "");
  });
  h.Round([&] {
    h.AckAll();
    h.sessions().CompleteTicket(c, slot, ticket, late);
  });
  h.Round([&] { h.AckAll(); });
  ClientView v = h.View(7);
  EXPECT_EQ(v.texts().size(), 1u) << "nothing after the close frame";
  ASSERT_TRUE(v.frames.back().IsClose());
  EXPECT_EQ(parked->refs_approx(), 1u);
  EXPECT_EQ(late->refs_approx(), 1u);
  parked->Unref();
  late->Unref();
}

TEST(SessionsTicketsTest, ParkedRepliesAreFreedWithTheConnection) {
  Harness h;
  uint32_t slot = h.OpenSession(7);
  Connection& c = h.sessions().At(slot);
  core::SharedFrame* parked = h.Text("parked");
  parked->Ref();
  h.Round([&] {
    (void)h.sessions().ReserveTicket(c, 1);
    h.sessions().Reply(c, slot, parked);
  });
  h.Round([&] { h.ReceiveResult(slot, 0); });
  EXPECT_EQ(h.events().FreedCount(7), 1u);
  EXPECT_EQ(parked->refs_approx(), 1u);
  parked->Unref();
}

// ======================================================================= drain

TEST(SessionsDrainTest, ByeAndClose1001AreSpreadOverThreeQuartersOfTheDrainTime) {
  Harness h;  // drain_timeout_ms 400: spread over 300 ms
  std::vector<uint32_t> slots;
  for (int fd = 11; fd <= 14; ++fd) slots.push_back(h.OpenSession(fd));
  uint64_t start = h.now_ms();
  h.Round([&] {
    // Queued before the drain: delivered before the bye.
    h.sessions().Enqueue(h.sessions().At(slots[3]), slots[3], h.Text("before"));
    h.sessions().BeginDrain();
  });
  EXPECT_TRUE(h.sessions().draining());
  std::map<int, uint64_t> told_at;
  auto record = [&] {
    for (int fd = 11; fd <= 14; ++fd) {
      if (told_at.count(fd) == 0 && h.View(fd).FirstClose()) told_at[fd] = h.now_ms() - start;
    }
  };
  h.Round([&] { h.AckAll(); });
  record();
  while (h.now_ms() - start < 400) {
    h.Step(5, [&] { h.AckAll(); });
    record();
  }
  ASSERT_EQ(told_at.size(), 4u);
  // Told in order at 0, 75, 150, 225 ms (the rounds here are 5 ms apart; a
  // close shows on the wire one round after it is queued).
  EXPECT_EQ(told_at[11], 0u);
  EXPECT_EQ(told_at[12], 80u);
  EXPECT_EQ(told_at[13], 155u);
  EXPECT_EQ(told_at[14], 230u);
  EXPECT_TRUE(h.sessions().DrainTold());
  for (int fd = 11; fd <= 14; ++fd) {
    SCOPED_TRACE("fd " + std::to_string(fd));
    ClientView v = h.View(fd);
    ASSERT_GE(v.frames.size(), 3u);
    const ServerFrame& bye = v.frames[v.frames.size() - 2];
    ASSERT_TRUE(bye.IsText());
    EXPECT_EQ(bye.payload,
              R"({"op":"bye","code":1001,"reason":"server shutting down","reconnect":true})");
    EXPECT_EQ(v.frames.back().close_code(), 1001);
    EXPECT_EQ(v.Count(0x8), 1u);
    EXPECT_EQ(v.texts().size(), fd == 14 ? 3u : 2u);
  }
  EXPECT_EQ(h.View(14).texts()[1], "before");
  // Everyone closes; nothing is left.
  h.Round([&] {
    for (uint32_t s : slots) h.ReceiveResult(s, 0);
  });
  EXPECT_EQ(h.sessions().size(), 0u);
  EXPECT_EQ(h.sessions().pools().live_frames(), 0u);
}

TEST(SessionsDrainTest, ZeroDrainTimeTellsEveryoneAtOnce) {
  ServerOptions o = SmallOptions();
  o.drain_timeout_ms = 0;
  Harness h(o);
  for (int fd = 11; fd <= 15; ++fd) h.OpenSession(fd);
  h.Round([&] { h.sessions().BeginDrain(); });
  EXPECT_TRUE(h.sessions().DrainTold());
  h.Round([&] { h.AckAll(); });
  for (int fd = 11; fd <= 15; ++fd) {
    ASSERT_TRUE(h.View(fd).FirstClose()) << fd;
    EXPECT_EQ(h.View(fd).FirstClose()->close_code(), 1001);
  }
  EXPECT_EQ(h.sessions().pools().live_frames(), 0u);
}

TEST(SessionsDrainTest, UpgradeWhileDrainingGets503) {
  Harness h;
  std::optional<uint32_t> early, late;
  h.Round([&] { early = h.Accept(7); });  // handshaking when the drain starts
  h.Round([&] { h.sessions().BeginDrain(); });
  h.Round([&] { late = h.Accept(8); });
  h.Round([&] {
    h.Receive(*early, UpgradeHead());
    h.Receive(*late, UpgradeHead());
  });
  h.Round([&] { h.AckAll(); });
  EXPECT_TRUE(StartsWith(h.wire(7), "HTTP/1.1 503 ")) << h.wire(7);
  EXPECT_TRUE(StartsWith(h.wire(8), "HTTP/1.1 503 ")) << h.wire(8);
  EXPECT_TRUE(h.events().opened.empty());
}

TEST(SessionsDrainTest, DrainWithNoConnectionsIsToldAtOnce) {
  Harness h;
  h.Round([&] { h.sessions().BeginDrain(); });
  EXPECT_TRUE(h.sessions().DrainTold());
  EXPECT_EQ(h.sessions().pools().live_frames(), 0u);
}

}  // namespace
}  // namespace ringcast::shard
