// Regressions found in review, each reproduced over real shards.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

// A command that closes its own connection (here: echoes that overflow a tiny
// queue limit) in the middle of a large multi-command message must not leave
// the parser reading the freed message (caught by ASan before the fix).
TEST(RegressionTest, ConnectionClosedMidMessageStopsParsingSafely) {
  auto options = TestServerOptions(1);
  options.max_queued_bytes = 1024;
  InProcessServer server(options);
  auto error = server.Start();
  ASSERT_FALSE(error.has_value()) << *error;

  WsClient client;
  ASSERT_TRUE(ConnectWelcomed(client, server.port()));
  ASSERT_TRUE(Subscribe(client, "self", 1));
  std::string batch;
  std::string pad(400, 'p');
  for (int i = 0; i < 120; ++i) batch += PubCommand("self", "\"" + pad + "\"") + "\n";
  ASSERT_GT(batch.size(), 4096u);  // assembled in the connection's buffer, not wslay's
  client.SendText(batch);
  auto code = client.WaitClose(5000);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 4000);

  WsClient after;  // and the shard keeps serving
  ASSERT_TRUE(ConnectWelcomed(after, server.port()));
  after.SendText(R"({"op":"ping","id":9})");
  auto pong = after.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(JsonString(*pong, "op"), "pong");
}

// A second `sub` with an id to a room whose join is still travelling to its
// owner answers only after the owner recorded it: the publication right
// after `ok` is never missed. Repeated over many rooms so some are remote.
TEST(RegressionTest, RepeatedSubWaitsForTheOwnersAck) {
  InProcessServer server(TestServerOptions(2));
  auto error = server.Start();
  ASSERT_FALSE(error.has_value()) << *error;
  WsClient sub, pub;
  ASSERT_TRUE(ConnectWelcomed(sub, server.port(), "127.0.0.2"));
  ASSERT_TRUE(ConnectWelcomed(pub, server.port(), "127.0.0.3"));
  for (int r = 0; r < 40; ++r) {
    std::string room = "again-" + std::to_string(r);
    sub.SendText(R"({"op":"sub","room":")" + room +
                 R"("})"
                 "\n"
                 R"({"op":"sub","room":")" +
                 room + R"(","id":2})");
    ASSERT_TRUE(NextIsOk(sub, 2)) << room;
    pub.SendText(PubCommand(room, std::to_string(r)));
    auto msg = sub.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(msg.has_value()) << room;
    EXPECT_TRUE(IsMsg(msg, room, pub.user(), std::to_string(r))) << *msg;
  }
}

// A server connection subscribing to and leaving a user's personal room must
// not change how many connections that user has.
TEST(RegressionTest, ServerSubToPersonalRoomKeepsTheUsersCount) {
  auto options = TestServerOptions(2);
  options.api_key = "k";
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient alice, bob, backend;
  ASSERT_TRUE(alice.Connect(server.port(), "/ws?user=alice", "127.0.0.2"));
  ASSERT_TRUE(alice.ReadWelcome());
  ASSERT_TRUE(bob.Connect(server.port(), "/ws?user=bob", "127.0.0.3"));
  ASSERT_TRUE(bob.ReadWelcome());
  ASSERT_TRUE(backend.Connect(server.port(), "/ws?apikey=k", "127.0.0.4"));
  ASSERT_TRUE(backend.ReadWelcome());
  ASSERT_TRUE(Subscribe(backend, "@alice", 1));
  backend.SendText(R"({"op":"unsub","room":"@alice","id":2})");
  ASSERT_TRUE(NextIsOk(backend, 2));
  bob.SendText(R"({"op":"send","to":"alice","data":1,"id":3})");
  EXPECT_TRUE(NextIsOk(bob, 3)) << "alice is still connected";
}

// sub then unsub of a history room in one frame: the owner's late answer
// must not subscribe the connection after all.
TEST(RegressionTest, UnsubBeforeTheOwnersAnswerWins) {
  auto options = TestServerOptions(2);
  options.namespaces["h"].history_size = 10;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient c, pub;
  ASSERT_TRUE(ConnectWelcomed(c, server.port(), "127.0.0.2"));
  ASSERT_TRUE(ConnectWelcomed(pub, server.port(), "127.0.0.3"));
  for (int r = 0; r < 8; ++r) {
    std::string room = "h:x" + std::to_string(r);
    c.SendText(R"({"op":"sub","room":")" + room +
               R"(","id":1})"
               "\n"
               R"({"op":"unsub","room":")" +
               room + R"(","id":2})");
    // Both are accepted (a refused sub could not leak anything), in command order.
    ASSERT_TRUE(NextIsOk(c, 1)) << room;
    ASSERT_TRUE(NextIsOk(c, 2)) << room;
    pub.SendText(PubCommand(room, "1", 9));
    ASSERT_TRUE(NextIsOk(pub, 9)) << room;
  }
  auto leaked = c.ReadMessage(300);
  EXPECT_FALSE(leaked.has_value()) << "delivered after unsub: " << *leaked;
}

// An HTTP keep-alive connection in use is not closed by the handshake timeout.
TEST(RegressionTest, BusyKeepAliveOutlivesTheHandshakeTimeout) {
  auto options = TestServerOptions(1);
  options.handshake_timeout_ms = 300;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient http;
  ASSERT_TRUE(http.ConnectTcp(server.port()));
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  auto answers = [&http] {
    size_t n = 0;
    for (size_t at = http.raw_input().find("HTTP/1.1 200 OK"); at != std::string_view::npos;
         at = http.raw_input().find("HTTP/1.1 200 OK", at + 1)) {
      ++n;
    }
    return n;
  };
  for (size_t i = 1; i <= 8; ++i) {
    // Every request is answered on the same connection: the i-th answer arrives.
    http.SendRaw(request);
    while (answers() < i) {
      ASSERT_TRUE(http.ReadRaw(kReadTimeoutMs))
          << "no answer to request " << i << " after " << (i - 1) * 100 << " ms of steady use"
          << (http.eof() ? ": the server closed the connection" : "");
    }
    ASSERT_FALSE(http.send_failed());
    // needs server time: handshake_timeout_ms (300 ms; eight requests 100 ms apart outlast it)
    usleep(100000);
  }
}

}  // namespace
}  // namespace ringcast::testing
