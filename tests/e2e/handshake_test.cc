// HTTP side of the WebSocket handshake against real shards: requests that
// are not valid upgrades get an HTTP error and no upgrade, oversized heads
// get 431, and a client that never finishes its head is closed after
// handshake_timeout_ms.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

constexpr uint32_t kHandshakeTimeoutMs = 500;
constexpr size_t kMaxHeadBytes = 4096;

class HandshakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto options = TestServerOptions(2);
    options.handshake_timeout_ms = kHandshakeTimeoutMs;
    options.max_head_bytes = kMaxHeadBytes;
    server_ = std::make_unique<InProcessServer>(options);
    auto error = server_->Start();
    ASSERT_FALSE(error.has_value()) << *error;
    port_ = server_->port();
  }

  std::string Request(const std::string& request) {
    WsClient client;
    EXPECT_TRUE(client.ConnectTcp(port_)) << client.last_error();
    return client.RawHttp(request);
  }

  static std::string Status(const std::string& response) {
    return response.substr(0, response.find("\r\n"));
  }

  std::unique_ptr<InProcessServer> server_;
  uint16_t port_ = 0;
};

constexpr const char* kValidKey = "dGhlIHNhbXBsZSBub25jZQ==";

TEST_F(HandshakeTest, ValidHandshakeAcceptKeyFromRfcExample) {
  std::string response = Request(std::string("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                             "Connection: Upgrade\r\nSec-WebSocket-Key: ") +
                                 kValidKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_EQ(Status(response).rfind("HTTP/1.1 101", 0), 0u) << response;
  // RFC 6455 section 1.3's worked example.
  EXPECT_NE(response.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << response;
}

TEST_F(HandshakeTest, PlainGetWithoutUpgradeGetsHttpError) {
  std::string response = Request("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_FALSE(response.empty()) << "connection closed without an HTTP response";
  EXPECT_EQ(Status(response).rfind("HTTP/1.1 4", 0), 0u) << response;
  EXPECT_EQ(response.find("101"), std::string::npos) << response;
}

TEST_F(HandshakeTest, MissingKeyGetsHttpError) {
  std::string response = Request(
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n");
  ASSERT_FALSE(response.empty()) << "connection closed without an HTTP response";
  EXPECT_EQ(Status(response).rfind("HTTP/1.1 4", 0), 0u) << response;
}

TEST_F(HandshakeTest, WrongVersionGets426) {
  std::string response = Request(std::string("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                             "Connection: Upgrade\r\nSec-WebSocket-Key: ") +
                                 kValidKey + "\r\nSec-WebSocket-Version: 12\r\n\r\n");
  ASSERT_FALSE(response.empty()) << "connection closed without an HTTP response";
  EXPECT_EQ(Status(response).rfind("HTTP/1.1 426", 0), 0u) << response;
  // RFC 6455 4.4: the answer names the versions the server speaks.
  EXPECT_NE(response.find("Sec-WebSocket-Version: 13"), std::string::npos) << response;
}

TEST_F(HandshakeTest, OversizedHeadGets431OrClose) {
  std::string request =
      std::string(
          "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Key: ") +
      kValidKey + "\r\nSec-WebSocket-Version: 13\r\nX-Big: " + std::string(kMaxHeadBytes * 2, 'b') +
      "\r\n\r\n";
  WsClient client;
  ASSERT_TRUE(client.ConnectTcp(port_));
  std::string response = client.RawHttp(request);
  if (!response.empty()) {
    EXPECT_EQ(Status(response).rfind("HTTP/1.1 431", 0), 0u) << Status(response);
  }
  // Either way the connection ends and no upgrade happened.
  EXPECT_TRUE(client.WaitEof(kReadTimeoutMs)) << "connection left open after an oversized head";
}

TEST_F(HandshakeTest, StalledHalfHeadIsClosedAfterHandshakeTimeout) {
  WsClient client;
  ASSERT_TRUE(client.ConnectTcp(port_));
  int64_t start = NowMs();
  client.SendRaw("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n");
  client.WaitEof(5000);
  int64_t elapsed = NowMs() - start;
  EXPECT_TRUE(client.eof()) << "half head still open after " << elapsed << " ms";
  EXPECT_GE(elapsed, kHandshakeTimeoutMs - 100) << "closed before the handshake timeout";
  EXPECT_LE(elapsed, kHandshakeTimeoutMs * 4 + 500);
  // Closing quietly or with an HTTP error (408) are both fine; nothing else.
  std::string got(client.raw_input());
  EXPECT_TRUE(got.empty() || got.rfind("HTTP/1.1 4", 0) == 0) << got;
}

TEST_F(HandshakeTest, SilentConnectionIsClosedAfterHandshakeTimeout) {
  WsClient client;
  ASSERT_TRUE(client.ConnectTcp(port_));
  int64_t start = NowMs();
  EXPECT_TRUE(client.WaitEof(5000));
  EXPECT_LE(NowMs() - start, kHandshakeTimeoutMs * 4 + 500);
}

TEST_F(HandshakeTest, HeadSplitAcrossManyWritesStillUpgrades) {
  WsClient client;
  ASSERT_TRUE(client.ConnectTcp(port_));
  std::string request = std::string(
                            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Key: ") +
                        kValidKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  // Seven bytes at a time, each piece read by the server before the next is sent.
  for (size_t i = 0; i < request.size(); i += 7) {
    client.SendRaw(std::string_view(request).substr(i, 7));
    ASSERT_TRUE(client.WaitServerRead(kReadTimeoutMs)) << "the server did not read bytes " << i;
  }
  std::string response = client.RawHttp("");
  EXPECT_EQ(Status(response).rfind("HTTP/1.1 101", 0), 0u) << response;
}

}  // namespace
}  // namespace ringcast::testing
