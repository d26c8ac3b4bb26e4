// Regressions found in review, each reproduced over real shards.
#include <gtest/gtest.h>

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
    sub.SendText(R"({"op":"sub","room":")" + room + R"("})" "\n" R"({"op":"sub","room":")" +
                 room + R"(","id":2})");
    ASSERT_TRUE(NextIsOk(sub, 2)) << room;
    pub.SendText(PubCommand(room, std::to_string(r)));
    auto msg = sub.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(msg.has_value()) << room;
    EXPECT_TRUE(IsMsg(msg, room, pub.user(), std::to_string(r))) << *msg;
  }
}

}  // namespace
}  // namespace ringcast::testing
