// The socket.io dialect's packet codec: what it frames (unmasked here) and how it classifies
// engine.io / socket.io packets from the server.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tools/load/dialect.h"
#include "tools/load/ws_codec.h"

namespace ringcast::load {
namespace {

using Kind = ServerEvent::Kind;

// Unmasks the client frames in `bytes` and returns their text payloads.
std::vector<std::string> ClientTexts(const std::string& bytes) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < bytes.size()) {
    const auto* b = reinterpret_cast<const uint8_t*>(bytes.data() + at);
    EXPECT_EQ(b[0], 0x80 | kWsText);
    EXPECT_TRUE(b[1] & 0x80) << "client frames are masked";
    uint64_t len = b[1] & 0x7f;
    size_t head = 2;
    if (len == 126) {
      len = (uint64_t{b[2]} << 8) | b[3];
      head = 4;
    } else if (len == 127) {
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | b[2 + i];
      head = 10;
    }
    const uint8_t* key = b + head;
    head += 4;
    std::string text(len, '\0');
    for (uint64_t i = 0; i < len; ++i) text[i] = static_cast<char>(b[head + i] ^ key[i % 4]);
    out.push_back(text);
    at += head + len;
  }
  return out;
}

class SocketIoDialectTest : public ::testing::Test {
 protected:
  std::unique_ptr<Dialect> d_ = MakeDialect("socketio");
};

TEST_F(SocketIoDialectTest, IsRegistered) {
  ASSERT_NE(d_, nullptr);
  EXPECT_EQ(d_->name(), "socketio");
  EXPECT_TRUE(d_->SendsWelcome());
  EXPECT_EQ(MakeDialect("socket.io"), nullptr);
}

TEST_F(SocketIoDialectTest, UpgradeTargetIsTheWebsocketOnlyEngineIoEndpoint) {
  EXPECT_EQ(d_->UpgradeTarget("/ws", ""), "/socket.io/?EIO=4&transport=websocket");
  EXPECT_EQ(d_->UpgradeTarget("/", "u7"), "/socket.io/?EIO=4&transport=websocket&user=u7");
  EXPECT_EQ(d_->UpgradeTarget("/my/socket.io/?k=v", ""),
            "/my/socket.io/?EIO=4&transport=websocket&k=v");
}

TEST_F(SocketIoDialectTest, FramesSubWithAckIdAndPubAsEvents) {
  std::string out;
  d_->AppendSub(&out, "room-3", 1, 0x12345678u);
  d_->AppendPub(&out, "room-3", "rcl1:abc", 0x9abcdef1u);
  d_->AppendSub(&out, "r", 4711, 0x1u);
  d_->AppendSend(&out, "u2", "rcl1:x", 0x2u);
  EXPECT_EQ(ClientTexts(out),
            (std::vector<std::string>{
                R"(421["sub","room-3"])", R"(42["pub",{"room":"room-3","data":"rcl1:abc"}])",
                R"(424711["sub","r"])", R"(42["send",{"to":"u2","data":"rcl1:x"}])"}));
}

TEST_F(SocketIoDialectTest, OpenPacketIsAnsweredWithNamespaceConnect) {
  ServerEvent ev = d_->Parse(
      R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,)"
      R"("maxPayload":1000000})");
  EXPECT_EQ(ev.kind, Kind::kOther);
  EXPECT_EQ(ev.reply, "40");
}

TEST_F(SocketIoDialectTest, NamespaceConnectAckIsTheWelcome) {
  EXPECT_EQ(d_->Parse(R"(40{"sid":"wZX3oN0bSVIhsaknAAAI"})").kind, Kind::kWelcome);
  EXPECT_EQ(d_->Parse("40").kind, Kind::kWelcome);
  EXPECT_TRUE(d_->Parse("40").reply.empty());
  // Another namespace's connect is not ours.
  EXPECT_EQ(d_->Parse(R"(40/admin,{"sid":"x"})").kind, Kind::kOther);
}

TEST_F(SocketIoDialectTest, PingIsAnsweredWithPong) {
  ServerEvent ev = d_->Parse("2");
  EXPECT_EQ(ev.kind, Kind::kOther);
  EXPECT_EQ(ev.reply, "3");
  EXPECT_EQ(d_->Parse("2probe").reply, "3probe");
  EXPECT_TRUE(d_->Parse("3").reply.empty());
  EXPECT_TRUE(d_->Parse("6").reply.empty());
}

TEST_F(SocketIoDialectTest, AckCarriesItsId) {
  ServerEvent ev = d_->Parse(R"(431[{"op":"ok","id":1}])");
  EXPECT_EQ(ev.kind, Kind::kOk);
  EXPECT_EQ(ev.id, 1u);
  ev = d_->Parse("4312[]");
  EXPECT_EQ(ev.kind, Kind::kOk);
  EXPECT_EQ(ev.id, 12u);
  ev = d_->Parse(R"(435[{"error":"not_allowed"}])");
  EXPECT_EQ(ev.kind, Kind::kError);
  EXPECT_EQ(ev.id, 5u);
  EXPECT_EQ(d_->Parse("43[]").kind, Kind::kOther);  // an ack without an id is malformed
}

TEST_F(SocketIoDialectTest, MsgEventYieldsThePayload) {
  ServerEvent ev = d_->Parse(
      R"(42["msg",{"op":"msg","room":"r0","from":"u","data":"rcl1:00000001:000000000002:x"}])");
  EXPECT_EQ(ev.kind, Kind::kMsg);
  EXPECT_EQ(ev.payload, R"(rcl1:00000001:000000000002:x"}])");
  // Other events and a msg without a generator payload.
  EXPECT_EQ(d_->Parse(R"(42["news",{"data":"rcl1:x"}])").kind, Kind::kOther);
  ev = d_->Parse(R"(42["msg",{"data":"hello"}])");
  EXPECT_EQ(ev.kind, Kind::kMsg);
  EXPECT_TRUE(ev.payload.empty());
}

TEST_F(SocketIoDialectTest, ConnectErrorIsAnError) {
  ServerEvent ev = d_->Parse(R"(44{"message":"Not authorized"})");
  EXPECT_EQ(ev.kind, Kind::kError);
  EXPECT_EQ(ev.error_code, "connect_error");
  EXPECT_EQ(d_->Parse("").kind, Kind::kOther);
  EXPECT_EQ(d_->Parse("4").kind, Kind::kOther);
  EXPECT_EQ(d_->Parse("1").kind, Kind::kOther);
}

}  // namespace
}  // namespace ringcast::load
