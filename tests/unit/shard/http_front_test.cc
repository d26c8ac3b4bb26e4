// HttpFront through Sessions: HTTP API requests on the WebSocket port,
// keep-alive and pipelined, before (and instead of) an upgrade. The API
// itself is a fake that answers each request with its path, the way
// HttpApi::Serve takes bytes: head plus Content-Length body, 0 while the
// body is still arriving, EndHttp for Connection: close.
#include "shard/http_front.h"

#include <gtest/gtest.h>

#include <charconv>
#include <string>
#include <vector>

#include "tests/unit/shard/session_fakes.h"

namespace ringcast::shard {
namespace {

using fakes::Harness;
using fakes::SmallOptions;
using fakes::UpgradeHead;

using Strings = std::vector<std::string>;

std::string Response(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

std::string Get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: a\r\n" + std::string(extra) + "\r\n";
}

std::string Post(std::string_view path, std::string_view body) {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

// Installs the fake API: answers path (and body) at once, or, for paths
// starting "/slow", reserves a ticket answered later by the test.
struct FakeApi {
  explicit FakeApi(Harness& harness, size_t pad = 0) : h(harness) {
    h.events().on_http = [this, pad](Connection& c, uint32_t slot, const net::HttpRequest& req,
                                     std::string_view input) -> size_t {
      size_t body = 0;
      std::string_view len = req.Header("Content-Length");
      if (!len.empty()) std::from_chars(len.data(), len.data() + len.size(), body);
      if (input.size() < req.head_bytes + body) return 0;
      std::string answer = std::string(req.path) + std::string(input.substr(req.head_bytes, body)) +
                           std::string(pad, '.');
      if (req.path.substr(0, 5) == "/slow") {
        tickets.push_back(h.sessions().ReserveTicket(c, std::nullopt, /*http=*/true));
        slow_answers.push_back(answer);
      } else {
        h.sessions().Reply(c, slot, core::SharedFrame::CreateRaw(Response(answer)));
      }
      c.http_served = true;
      if (req.HeaderHasToken("Connection", "close")) h.sessions().EndHttp(c, slot);
      return req.head_bytes + body;
    };
  }
  void CompleteSlow(uint32_t slot, size_t i) {
    h.sessions().CompleteTicket(h.sessions().At(slot), slot, tickets.at(i),
                                core::SharedFrame::CreateRaw(Response(slow_answers.at(i))));
  }
  Harness& h;
  std::vector<uint32_t> tickets;
  Strings slow_answers;
};

// The bodies of the 200 responses on the wire, in order.
Strings Bodies(std::string_view wire) {
  Strings out;
  while (!wire.empty()) {
    size_t end = wire.find("\r\n\r\n");
    if (end == std::string_view::npos) break;
    std::string_view head = wire.substr(0, end);
    size_t at = head.find("Content-Length: ");
    size_t n = 0;
    if (at != std::string_view::npos) {
      std::string_view v = head.substr(at + 16);
      std::from_chars(v.data(), v.data() + v.size(), n);
    }
    out.emplace_back(wire.substr(end + 4, n));
    wire.remove_prefix(std::min(wire.size(), end + 4 + n));
  }
  return out;
}

uint32_t AcceptOne(Harness& h, int fd) {
  std::optional<uint32_t> slot;
  h.Round([&] { slot = h.Accept(fd); });
  EXPECT_TRUE(slot);
  return *slot;
}

TEST(HttpFrontTest, PlainRequestGoesToTheApiAndTheConnectionStaysAlive) {
  Harness h;
  FakeApi api(h);
  uint32_t slot = AcceptOne(h, 7);
  h.Round([&] { h.Receive(slot, Get("/healthz")); });
  h.Sync();
  EXPECT_EQ(h.events().http_paths, Strings{"/healthz"});
  EXPECT_EQ(Bodies(h.wire(7)), Strings{"/healthz"});
  EXPECT_TRUE(h.io().shutdowns.empty()) << "keep-alive";
  h.Round([&] { h.Receive(slot, Get("/again")); });
  h.Sync();
  EXPECT_EQ(Bodies(h.wire(7)), (Strings{"/healthz", "/again"}));
  EXPECT_TRUE(h.events().opened.empty());
  EXPECT_EQ(h.stats().handshakes_failed.load(), 0u);
}

TEST(HttpFrontTest, PipelinedRequestsAreServedInOrderInOneSend) {
  Harness h;
  FakeApi api(h);
  uint32_t slot = AcceptOne(h, 7);
  h.Round([&] { h.Receive(slot, Get("/a") + Post("/b", "body") + Get("/c")); });
  EXPECT_EQ(h.io().SendsTo(7), 1u);
  h.Sync();
  EXPECT_EQ(h.events().http_paths, (Strings{"/a", "/b", "/c"}));
  EXPECT_EQ(Bodies(h.wire(7)), (Strings{"/a", "/bbody", "/c"}));
}

TEST(HttpFrontTest, HeadAndBodySplitAcrossReceivesAreServedOnceComplete) {
  Harness h;
  FakeApi api(h);
  uint32_t slot = AcceptOne(h, 7);
  std::string req = Post("/p", "0123456789") + Get("/next");
  size_t body_at = req.find("0123");
  h.Round([&] { h.Receive(slot, req.substr(0, 10)); });
  h.Round([&] { h.Receive(slot, req.substr(10, body_at + 4 - 10)); });  // head + 4 body bytes
  h.Sync();
  EXPECT_TRUE(Bodies(h.wire(7)).empty()) << "the body is still arriving";
  h.Round([&] { h.Receive(slot, req.substr(body_at + 4, 8)); });  // the body, 2 bytes of the next
  h.Sync();
  EXPECT_EQ(Bodies(h.wire(7)), Strings{"/p0123456789"});
  h.Round([&] { h.Receive(slot, req.substr(body_at + 12)); });
  h.Sync();
  EXPECT_EQ(Bodies(h.wire(7)), (Strings{"/p0123456789", "/next"}));
}

TEST(HttpFrontTest, ConnectionCloseAnswersThenHalfClosesAndReadsNoMore) {
  Harness h;
  FakeApi api(h);
  uint32_t slot = AcceptOne(h, 7);
  h.Round([&] { h.Receive(slot, Get("/bye", "Connection: close\r\n") + Get("/ignored")); });
  h.Sync();
  EXPECT_EQ(h.events().http_paths, Strings{"/bye"});
  EXPECT_EQ(Bodies(h.wire(7)), Strings{"/bye"});
  EXPECT_EQ(h.io().ShutdownCount(7, SHUT_WR), 1u);
  h.Round([&] { h.Receive(slot, Get("/later")); });
  EXPECT_EQ(h.events().http_paths, Strings{"/bye"});
  h.Round([&] { h.ReceiveResult(slot, 0); });
  EXPECT_EQ(h.events().FreedCount(7), 1u);
}

TEST(HttpFrontTest, UpgradeAfterAnApiRequestGets400) {
  Harness h;
  FakeApi api(h);
  uint32_t slot = AcceptOne(h, 7);
  h.Round([&] { h.Receive(slot, Get("/healthz") + UpgradeHead()); });
  h.Sync();
  EXPECT_TRUE(h.events().opened.empty());
  std::string_view wire = h.wire(7);
  size_t second = wire.find("HTTP/1.1", 1);
  ASSERT_NE(second, std::string_view::npos) << wire;
  EXPECT_EQ(wire.substr(second, 13), "HTTP/1.1 400 ");
  EXPECT_EQ(wire.find("101"), std::string_view::npos);
}

// A shard at max_connections_per_shard sessions still takes connections into
// its HTTP reserve: an upgrade there gets 503 with Retry-After, the API is
// served (without keep-alive), and once a session is freed upgrades work again.
TEST(HttpFrontTest, FullShardRefusesUpgradesWith503AndServesHttpFromItsReserve) {
  ServerOptions o = SmallOptions();
  o.max_connections_per_shard = 1;
  o.http_reserve_per_shard = 2;
  Harness h(o);
  FakeApi api(h);
  uint32_t session = h.OpenSession(7);
  EXPECT_TRUE(h.sessions().AtSessionLimit());

  uint32_t late = AcceptOne(h, 8);
  h.Round([&] { h.Receive(late, UpgradeHead()); });
  h.Sync();
  EXPECT_EQ(h.events().opened.size(), 1u);
  EXPECT_EQ(h.wire(8).substr(0, 13), "HTTP/1.1 503 ") << h.wire(8);
  EXPECT_NE(h.wire(8).find("\r\nRetry-After: 5\r\n"), std::string::npos) << h.wire(8);
  EXPECT_EQ(h.stats().upgrades_refused_full.load(), 1u);

  uint32_t api_conn = AcceptOne(h, 9);
  h.Round([&] { h.Receive(api_conn, Get("/healthz")); });
  h.Sync();
  EXPECT_EQ(h.wire(9), Response("/healthz"));
  // The slab (one session + two reserve slots) is full: refused without a slot.
  std::optional<uint32_t> none;
  h.Round([&] { none = h.Accept(10); });
  EXPECT_FALSE(none.has_value());

  h.Round([&] { h.ReceiveResult(session, 0); });  // the session's peer leaves
  h.Sync();
  EXPECT_FALSE(h.sessions().AtSessionLimit());
  h.OpenSession(11);
  EXPECT_EQ(h.events().opened.size(), 2u);
}

TEST(HttpFrontTest, APipelinerThatDoesNotReadIsCutOffAtTheQueueLimit) {
  Harness h;  // max_queued_bytes 4096
  FakeApi api(h, /*pad=*/1000);
  uint32_t slot = AcceptOne(h, 7);
  std::string many;
  for (int i = 0; i < 20; ++i) many += Get("/r" + std::to_string(i));
  h.Round([&] { h.Receive(slot, many); });
  size_t served = h.events().http_paths.size();
  EXPECT_GE(served, 4u);
  EXPECT_LE(served, 6u) << "about 4096 bytes of answers, then no more reading";
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kClosing);
  h.Sync();
  h.Sync();
  EXPECT_EQ(Bodies(h.wire(7)).size(), served) << "what was answered still goes out";
  EXPECT_EQ(h.io().ShutdownCount(7, SHUT_WR), 1u);
  h.Round([&] { h.Receive(slot, Get("/more")); });
  EXPECT_EQ(h.events().http_paths.size(), served);
}

TEST(HttpFrontTest, AnswersKeepRequestOrderThroughTickets) {
  Harness h;
  FakeApi api(h);
  uint32_t slot = AcceptOne(h, 7);
  h.Round([&] { h.Receive(slot, Get("/slow1") + Get("/fast") + Get("/slow2")); });
  h.Sync();
  EXPECT_TRUE(Bodies(h.wire(7)).empty()) << "/fast waits behind /slow1";
  h.Round([&] { api.CompleteSlow(slot, 1); });
  h.Sync();
  EXPECT_TRUE(Bodies(h.wire(7)).empty());
  h.Round([&] { api.CompleteSlow(slot, 0); });
  h.Sync();
  EXPECT_EQ(Bodies(h.wire(7)), (Strings{"/slow1", "/fast", "/slow2"}));
}

TEST(HttpFrontTest, AnIdleKeepAliveConnectionIsClosedButNotWhileAnAnswerIsPending) {
  Harness h;  // handshake_timeout_ms 500: the keep-alive idle time
  FakeApi api(h);
  uint32_t slot = AcceptOne(h, 7);
  // Active: a request every 400 ms for 2 s.
  for (int i = 0; i < 5; ++i) {
    h.Run(400);
    h.Round([&] { h.Receive(slot, Get("/ping")); });
  }
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kHandshake);
  // Waiting for its own answer: not idle.
  h.Round([&] { h.Receive(slot, Get("/slow")); });
  h.Run(2000);
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kHandshake);
  h.Round([&] { api.CompleteSlow(slot, 0); });
  h.Sync();
  EXPECT_EQ(Bodies(h.wire(7)).back(), "/slow");
  // Then idle after one more request.
  h.Round([&] { h.Receive(slot, Get("/last")); });
  h.Run(480);
  EXPECT_EQ(h.sessions().At(slot).state, ConnState::kHandshake);
  h.Run(40);
  EXPECT_NE(h.sessions().At(slot).state, ConnState::kHandshake);
  EXPECT_EQ(h.io().ShutdownCount(7, SHUT_WR), 1u);
  EXPECT_EQ(h.stats().handshakes_failed.load(), 0u)
      << "served connections are not failed handshakes";
}

}  // namespace
}  // namespace ringcast::shard
