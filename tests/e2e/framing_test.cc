// WebSocket framing against real shards: every protocol violation gets the
// close code docs/protocol.md (Closing) names, fragmented messages are reassembled around
// interleaved control frames, size limits hold across fragments, and a client
// close is answered.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

constexpr size_t kSmallMaxMessage = 1024;

class FramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto options = TestServerOptions(2);
    options.max_message_bytes = kSmallMaxMessage;
    server_ = std::make_unique<InProcessServer>(options);
    auto error = server_->Start();
    ASSERT_FALSE(error.has_value()) << *error;
    port_ = server_->port();
  }

  // A fresh, welcomed client (a new connection for every violation).
  void Open(WsClient& client) { ASSERT_TRUE(ConnectWelcomed(client, port_)); }

  // The server must close with `code` and then end the TCP connection.
  void ExpectClose(WsClient& client, uint16_t code) {
    auto got = client.WaitClose(kReadTimeoutMs);
    ASSERT_TRUE(got.has_value()) << "no close frame (eof=" << client.eof() << ")";
    EXPECT_EQ(*got, code) << "reason: " << client.close_reason();
    // After the close handshake the server closes the socket.
    int64_t deadline = NowMs() + kReadTimeoutMs;
    while (!client.eof() && NowMs() < deadline) client.ReadFrame(100);
    EXPECT_TRUE(client.eof()) << "server kept the connection open after close";
  }

  std::unique_ptr<InProcessServer> server_;
  uint16_t port_ = 0;
};

TEST_F(FramingTest, UnmaskedClientFrameIs1002) {
  WsClient client;
  Open(client);
  client.SendFrame(kOpText, R"({"op":"ping","id":1})", true, /*mask=*/false);
  ExpectClose(client, 1002);
}

TEST_F(FramingTest, ReservedBitsAre1002) {
  for (uint8_t rsv : {1, 2, 4}) {
    WsClient client;
    Open(client);
    client.SendFrame(kOpText, R"({"op":"ping","id":1})", true, true, rsv);
    ExpectClose(client, 1002);
  }
}

TEST_F(FramingTest, UnknownOpcodeIs1002) {
  for (uint8_t opcode : {0x3, 0x7, 0xB, 0xF}) {
    WsClient client;
    Open(client);
    client.SendFrame(opcode, "x");
    ExpectClose(client, 1002);
  }
}

TEST_F(FramingTest, FragmentedControlFrameIs1002) {
  WsClient client;
  Open(client);
  client.SendFrame(kOpPing, "abc", /*fin=*/false);
  ExpectClose(client, 1002);
}

TEST_F(FramingTest, ControlFrameOver125BytesIs1002) {
  WsClient client;
  Open(client);
  client.SendFrame(kOpPing, std::string(200, 'p'));
  ExpectClose(client, 1002);
}

TEST_F(FramingTest, ContinuationWithoutStartIs1002) {
  WsClient client;
  Open(client);
  client.SendFrame(kOpContinuation, R"({"op":"ping"})");
  ExpectClose(client, 1002);
}

TEST_F(FramingTest, NewMessageInsideFragmentedOneIs1002) {
  WsClient client;
  Open(client);
  client.SendFrame(kOpText, R"({"op":)", /*fin=*/false);
  client.SendFrame(kOpText, R"("ping"})");
  ExpectClose(client, 1002);
}

TEST_F(FramingTest, BinaryFrameIs1003) {
  WsClient client;
  Open(client);
  client.SendFrame(kOpBinary, R"({"op":"ping","id":1})");
  ExpectClose(client, 1003);
}

TEST_F(FramingTest, InvalidUtf8Is1007) {
  WsClient client;
  Open(client);
  client.SendText("{\"op\":\"pub\",\"room\":\"r\",\"data\":\"\xff\xfe\"}");
  ExpectClose(client, 1007);
}

TEST_F(FramingTest, InvalidUtf8SplitAcrossFragmentsIs1007) {
  WsClient client;
  Open(client);
  // A valid two-byte sequence split across fragments is fine...
  client.SendFrame(kOpText, "{\"op\":\"ping\",\"x\":\"\xc3", false);
  client.SendFrame(kOpContinuation, "\xa9\",\"id\":1}");
  auto pong = client.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(pong.has_value()) << "split UTF-8 sequence rejected";
  EXPECT_EQ(JsonString(*pong, "op"), "pong") << *pong;
  // ...a truncated one is not.
  client.SendFrame(kOpText, "{\"op\":\"ping\",\"x\":\"\xc3", false);
  client.SendFrame(kOpContinuation, "\",\"id\":2}");
  ExpectClose(client, 1007);
}

TEST_F(FramingTest, MessageOverMaxMessageBytesIs1009) {
  WsClient client;
  Open(client);
  // At the limit is fine.
  std::string head = R"({"op":"ping","id":1,"pad":")";
  std::string fits = head + std::string(kSmallMaxMessage - head.size() - 2, 'a') + "\"}";
  ASSERT_EQ(fits.size(), kSmallMaxMessage);
  client.SendText(fits);
  auto pong = client.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(pong.has_value()) << "a message of exactly max_message_bytes was rejected";
  EXPECT_EQ(JsonString(*pong, "op"), "pong");
  client.SendText(head + std::string(2000, 'a') + "\"}");
  ExpectClose(client, 1009);
}

TEST_F(FramingTest, FragmentedMessageOverMaxMessageBytesIs1009) {
  WsClient client;
  Open(client);
  // Each fragment is small; the message is not.
  client.SendFrame(kOpText, R"({"op":"ping","pad":")" + std::string(480, 'a'), false);
  client.SendFrame(kOpContinuation, std::string(500, 'b'), false);
  client.SendFrame(kOpContinuation, std::string(500, 'c') + "\"}", true);
  ExpectClose(client, 1009);
}

TEST_F(FramingTest, FragmentedMessageWithInterleavedPingIsReassembled) {
  WsClient client;
  Open(client);
  client.SendFrame(kOpText, R"({"op":"pi)", false);
  client.SendFrame(kOpPing, "hi");
  client.SendFrame(kOpContinuation, R"(ng","id")", false);
  client.SendFrame(kOpContinuation, ":9}", true);
  auto pong_frame = client.ReadFrame(kReadTimeoutMs);
  ASSERT_TRUE(pong_frame.has_value());
  EXPECT_EQ(pong_frame->opcode, kOpPong);
  EXPECT_EQ(pong_frame->payload, "hi");
  auto msg = client.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(JsonString(*msg, "op"), "pong") << *msg;
  EXPECT_EQ(JsonUint(*msg, "id"), 9u) << *msg;
}

TEST_F(FramingTest, FragmentedPubIsDelivered) {
  WsClient a, b;
  ASSERT_TRUE(ConnectWelcomed(a, port_, "127.0.0.2"));
  ASSERT_TRUE(ConnectWelcomed(b, port_, "127.0.0.3"));
  ASSERT_TRUE(Subscribe(a, "frag", 1));
  b.SendFrame(kOpText, R"({"op":"pub","room":"frag",)", false);
  b.SendFrame(kOpContinuation, R"("data":{"big":")" + std::string(300, 'z'), false);
  b.SendFrame(kOpContinuation, R"("},"id":4})", true);
  EXPECT_TRUE(NextIsOk(b, 4));
  EXPECT_TRUE(IsMsg(a.ReadMessage(kReadTimeoutMs), "frag", b.user(),
                    R"({"big":")" + std::string(300, 'z') + "\"}"));
}

TEST_F(FramingTest, ServerAnswersPingFrameWithPong) {
  WsClient client;
  Open(client);
  client.SendFrame(kOpPing, "payload-123");
  auto frame = client.ReadFrame(kReadTimeoutMs);
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->opcode, kOpPong);
  EXPECT_EQ(frame->payload, "payload-123");
}

TEST_F(FramingTest, ClientClose1000IsAnswered) {
  WsClient client;
  Open(client);
  client.SendClose(1000, "bye");
  ExpectClose(client, 1000);
}

TEST_F(FramingTest, ByteByByteFrameIsParsed) {
  WsClient client;
  Open(client);
  // One masked frame written one byte at a time, each byte read by the server before the next
  // is sent: every read is a short one.
  std::string payload = R"({"op":"ping","id":31})";
  std::string frame;
  frame.push_back(static_cast<char>(0x81));
  frame.push_back(static_cast<char>(0x80 | payload.size()));
  const char key[4] = {0x11, 0x22, 0x33, 0x44};
  frame.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i) frame.push_back(payload[i] ^ key[i % 4]);
  for (char c : frame) {
    client.SendRaw(std::string_view(&c, 1));
    ASSERT_TRUE(client.WaitServerRead(kReadTimeoutMs)) << "the server did not read a byte";
  }
  auto msg = client.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(JsonUint(*msg, "id"), 31u) << *msg;
}

}  // namespace
}  // namespace ringcast::testing
