#include "tools/load/ws_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "net/handshake.h"

namespace ringcast::load {
namespace {

std::string ServerFrame(uint8_t opcode, const std::string& payload, bool fin = true) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(payload.size()));
  } else if (payload.size() <= 0xffff) {
    f.push_back(126);
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size()));
  } else {
    f.push_back(127);
    for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<char>(uint64_t{payload.size()} >> s));
  }
  return f + payload;
}

TEST(ServerFrameParserTest, ParsesEveryLengthFormSplitAtEveryByte) {
  std::string stream = ServerFrame(kWsText, "hi") + ServerFrame(kWsText, std::string(300, 'a')) +
                       ServerFrame(kWsText, std::string(70000, 'b'));
  for (size_t cut : {size_t{1}, size_t{3}, size_t{5}, size_t{200}, size_t{307}, size_t{4096}}) {
    ServerFrameParser parser;
    std::vector<size_t> sizes;
    for (size_t at = 0; at < stream.size(); at += cut) {
      auto r = parser.Feed(std::string_view(stream).substr(at, cut),
                           [&](uint8_t op, std::string_view p) {
                             EXPECT_EQ(op, kWsText);
                             sizes.push_back(p.size());
                           });
      ASSERT_EQ(r, ServerFrameParser::Result::kOk);
    }
    EXPECT_EQ(sizes, (std::vector<size_t>{2, 300, 70000})) << "cut " << cut;
  }
}

TEST(ServerFrameParserTest, JoinsFragmentsAndRejectsMaskedFrames) {
  ServerFrameParser parser;
  std::string got;
  std::string stream =
      ServerFrame(kWsText, "ab", false) + ServerFrame(kWsPing, "") + ServerFrame(0, "cd", true);
  int messages = 0;
  ASSERT_EQ(parser.Feed(stream,
                        [&](uint8_t op, std::string_view p) {
                          ++messages;
                          if (op == kWsText) got = p;
                        }),
            ServerFrameParser::Result::kOk);
  EXPECT_EQ(messages, 2);
  EXPECT_EQ(got, "abcd");
  std::string masked;
  AppendClientFrame(&masked, kWsText, "x", 0x01020304);
  ServerFrameParser other;
  EXPECT_EQ(other.Feed(masked, [](uint8_t, std::string_view) {}),
            ServerFrameParser::Result::kProtocolError);
}

TEST(UpgradeTest, AcceptsOnlyA101WithTheRightKey) {
  std::string accept;
  std::string req = BuildUpgradeRequest("127.0.0.1:9", "/ws", 7, &accept);
  // The accept the generator expects is the RFC 6455 answer to the key it sent (a server
  // computes it from the key; the net tests pin ComputeAcceptKey to the RFC's example), not
  // merely the value it is later compared with.
  const size_t key_at = req.find("Sec-WebSocket-Key: ");
  ASSERT_NE(key_at, std::string::npos);
  const size_t key_begin = key_at + std::string_view("Sec-WebSocket-Key: ").size();
  const std::string key = req.substr(key_begin, req.find("\r\n", key_begin) - key_begin);
  EXPECT_EQ(key.size(), 24u) << key;
  EXPECT_EQ(accept, net::ComputeAcceptKey(key).value_or("not a valid key")) << key;
  std::string other_accept;
  BuildUpgradeRequest("127.0.0.1:9", "/ws", 8, &other_accept);
  EXPECT_NE(other_accept, accept) << "every connection gets its own key";
  size_t head = 0;
  std::string ok =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Accept: " +
      accept + "\r\n\r\n\x81\x02hi";
  EXPECT_EQ(CheckUpgradeResponse(ok, accept, &head), UpgradeStatus::kAccepted);
  EXPECT_EQ(ok.substr(head), "\x81\x02hi");
  EXPECT_EQ(CheckUpgradeResponse(ok.substr(0, 20), accept, &head), UpgradeStatus::kIncomplete);
  EXPECT_EQ(CheckUpgradeResponse("HTTP/1.1 401 Unauthorized\r\n\r\n", accept, &head),
            UpgradeStatus::kRefused);
  EXPECT_EQ(CheckUpgradeResponse(ok, "wrongkey", &head), UpgradeStatus::kRefused);
}

}  // namespace
}  // namespace ringcast::load
