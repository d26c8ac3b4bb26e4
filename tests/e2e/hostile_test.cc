// Hostile input against real shards: a matrix of bad inputs, one row each, every row asserting
// the answer docs/protocol.md (or RFC 6455 where it is silent) documents and then that the server
// still serves everyone else: a bystander, connected and subscribed before the row ran, receives
// a publication from a fresh client and answers a ping.
//
// Single-answer checks that already live elsewhere are not repeated here: handshake_test.cc
// (plain GET, missing key, version 12, stalled half head, silent connection), framing_test.cc
// (continuation without start, new message inside a fragmented one, UTF-8 split across
// fragments, the exact-limit message), protocol_test.cc (bad JSON, unknown op with id, wrong
// room type) and limits_test.cc (rate limit counts). The classes those files cover (unmasked,
// RSV bits, opcodes, fragmented control, oversize, floods) have rows here as well, for the
// bystander check and the cases those files leave out.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

constexpr uint32_t kHandshakeTimeoutMs = 400;
constexpr size_t kMaxHeadBytes = 1024;
constexpr size_t kMaxMessageBytes = 16384;
constexpr uint64_t kUsableId = 4242;

// --- raw bytes ---------------------------------------------------------------------------------

constexpr uint8_t kFin = 0x80;

std::string Masked(std::string header, std::string_view payload) {
  const char key[4] = {0x5a, 0x13, 0x7e, 0x21};
  header.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i) header.push_back(payload[i] ^ key[i % 4]);
  return header;
}

// One frame; b0 is the whole first byte (FIN, RSV, opcode). The length uses the shortest form.
std::string Frame(uint8_t b0, std::string_view payload, bool mask = true) {
  std::string h(1, static_cast<char>(b0));
  const uint8_t m = mask ? 0x80 : 0;
  const size_t n = payload.size();
  if (n < 126) {
    h.push_back(static_cast<char>(m | n));
  } else if (n < 65536) {
    h.push_back(static_cast<char>(m | 126));
    h.push_back(static_cast<char>(n >> 8));
    h.push_back(static_cast<char>(n & 0xff));
  } else {
    h.push_back(static_cast<char>(m | 127));
    for (int i = 7; i >= 0; --i) h.push_back(static_cast<char>((uint64_t{n} >> (8 * i)) & 0xff));
  }
  if (mask) return Masked(h, payload);
  return h + std::string(payload);
}

std::string Text(std::string_view payload) { return Frame(kFin | 0x1, payload); }

// A masked header declaring `len` in the 16-bit (126) or 64-bit (127) form, no payload.
std::string HeaderWithLength(uint8_t b0, uint8_t form, uint64_t len) {
  std::string h{static_cast<char>(b0), static_cast<char>(0x80 | form)};
  const int bytes = form == 126 ? 2 : 8;
  for (int i = bytes - 1; i >= 0; --i) h.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  return Masked(h, "");
}

std::string ClosePayload(uint16_t code, std::string_view reason = "") {
  std::string p{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  return p + std::string(reason);
}

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

constexpr const char* kKey = "dGhlIHNhbXBsZSBub25jZQ==";

// A valid upgrade request with `extra` header lines, minus any line whose name is in `drop`.
std::string Head(const std::string& extra = "", const std::string& drop = "",
                 const std::string& request_line = "GET /ws HTTP/1.1") {
  std::string out = request_line + "\r\n";
  const std::pair<const char*, std::string> lines[] = {{"Host", "x"},
                                                       {"Upgrade", "websocket"},
                                                       {"Connection", "Upgrade"},
                                                       {"Sec-WebSocket-Key", kKey},
                                                       {"Sec-WebSocket-Version", "13"}};
  for (const auto& [name, value] : lines) {
    if (drop != name) out += std::string(name) + ": " + value + "\r\n";
  }
  return out + extra + "\r\n";
}

// --- the matrix --------------------------------------------------------------------------------

enum class Stage : uint8_t {
  kInsteadOfHandshake,  // bytes go on a bare TCP connection
  kAfterHandshake,      // bytes follow a completed handshake and the welcome
};

struct Reply {
  std::string op;    // "error", "ok", "pong"
  std::string code;  // for errors
  std::optional<uint64_t> id;
  // The id of a command that is not valid JSON is best effort (proto/command.h: reported when
  // it could be read before the error): such rows accept it present or absent.
  bool any_id = false;
};

struct Expect {
  int http_status = 0;         // an HTTP error response, then EOF, no upgrade
  bool keep_alive = false;     // after http_status: a plain HTTP request may keep its connection
  bool eof_only = false;       // the connection ends without any answer (after a half close)
  uint16_t close_code = 0;     // a close frame with this code, then EOF
  std::vector<Reply> replies;  // exactly these replies, then the connection is still usable
};

struct Case {
  std::string name;
  Stage stage;
  std::string bytes;
  Expect expect;
  bool half_close = false;  // shutdown(SHUT_WR) after sending
};

Expect Http(int status) {
  Expect e;
  e.http_status = status;
  return e;
}
// A request that is not an upgrade at all is plain HTTP/1.1 to the server (the HTTP API shares
// the port): it gets its error and may keep the connection, as any keep-alive request may.
Expect HttpKeepAlive(int status) {
  Expect e;
  e.http_status = status;
  e.keep_alive = true;
  return e;
}
Expect CloseCode(uint16_t code) {
  Expect e;
  e.close_code = code;
  return e;
}
Expect Replies(std::vector<Reply> replies) {
  Expect e;
  e.replies = std::move(replies);
  return e;
}
Expect EofOnly() {
  Expect e;
  e.eof_only = true;
  return e;
}
Expect Error(const char* code, std::optional<uint64_t> id) {
  return Replies({Reply{"error", code, id}});
}
Expect BadJsonAnyId() { return Replies({Reply{"error", "bad_json", std::nullopt, true}}); }

Case Raw(std::string name, std::string bytes, Expect expect) {
  return Case{std::move(name), Stage::kInsteadOfHandshake, std::move(bytes), std::move(expect)};
}
Case Ws(std::string name, std::string bytes, Expect expect) {
  return Case{std::move(name), Stage::kAfterHandshake, std::move(bytes), std::move(expect)};
}

std::vector<Case> HttpCases() {
  std::vector<Case> cases;
  Case truncated =
      Raw("truncated_head_then_eof", "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: web", EofOnly());
  truncated.half_close = true;
  cases.push_back(truncated);
  cases.push_back(Raw("head_over_max_head_bytes",
                      Head("X-Pad: " + std::string(kMaxHeadBytes + 500, 'p') + "\r\n"), Http(431)));
  cases.push_back(Raw("header_lines_without_end_over_limit",
                      "GET /ws HTTP/1.1\r\n" + std::string(kMaxHeadBytes * 2, 'h'), Http(431)));
  cases.push_back(Raw("upgrade_missing", Head("", "Upgrade"), HttpKeepAlive(426)));
  cases.push_back(Raw("upgrade_h2c", Head("Upgrade: h2c\r\n", "Upgrade"), HttpKeepAlive(426)));
  cases.push_back(Raw("connection_missing", Head("", "Connection"), Http(400)));
  cases.push_back(
      Raw("connection_keep_alive", Head("Connection: keep-alive\r\n", "Connection"), Http(400)));
  cases.push_back(Raw("version_missing", Head("", "Sec-WebSocket-Version"), Http(400)));
  cases.push_back(Raw("version_twice", Head("Sec-WebSocket-Version: 13\r\n"), Http(426)));
  cases.push_back(Raw("key_missing", Head("", "Sec-WebSocket-Key"), Http(400)));
  cases.push_back(Raw("key_not_16_bytes",
                      Head("Sec-WebSocket-Key: c2hvcnQ=\r\n", "Sec-WebSocket-Key"), Http(400)));
  cases.push_back(
      Raw("key_twice", Head(std::string("Sec-WebSocket-Key: ") + kKey + "\r\n"), Http(400)));
  cases.push_back(Raw("host_missing", Head("", "Host"), Http(400)));
  cases.push_back(Raw("host_twice", Head("Host: y\r\n"), Http(400)));
  cases.push_back(Raw("method_post", Head("", "", "POST /ws HTTP/1.1"), Http(405)));
  cases.push_back(Raw("http_1_0_upgrade", Head("", "", "GET /ws HTTP/1.0"), Http(400)));
  cases.push_back(Raw("http_2_0_upgrade", Head("", "", "GET /ws HTTP/2.0"), Http(400)));
  cases.push_back(Raw("header_without_colon", Head("NoColonHere\r\n"), Http(400)));
  cases.push_back(
      Raw("user_param_control_char", Head("", "", "GET /ws?user=a%01b HTTP/1.1"), Http(400)));
  cases.push_back(Raw("tls_client_hello",
                      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) +
                          std::string(64, '\0') + "\r\n\r\n",
                      Http(400)));
  return cases;
}

std::vector<Case> FrameCases() {
  std::vector<Case> cases;
  const std::string ping = R"({"op":"ping","id":1})";
  cases.push_back(Ws("unmasked_text", Frame(kFin | 0x1, ping, /*mask=*/false), CloseCode(1002)));
  cases.push_back(Ws("rsv1", Frame(kFin | 0x40 | 0x1, ping), CloseCode(1002)));
  cases.push_back(Ws("rsv2", Frame(kFin | 0x20 | 0x1, ping), CloseCode(1002)));
  cases.push_back(Ws("rsv3", Frame(kFin | 0x10 | 0x1, ping), CloseCode(1002)));
  for (uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    char name[16];
    std::snprintf(name, sizeof(name), "opcode_%X", op);
    cases.push_back(Ws(name, Frame(kFin | op, "x"), CloseCode(1002)));
  }
  cases.push_back(Ws("binary", Frame(kFin | 0x2, ping), CloseCode(1003)));
  cases.push_back(
      Ws("fragmented_ping", Frame(0x9, "abc") + Frame(kFin | 0x0, "d"), CloseCode(1002)));
  cases.push_back(Ws("fragmented_close", Frame(0x8, ClosePayload(1000)), CloseCode(1002)));
  cases.push_back(Ws("fragmented_pong", Frame(0xA, "p"), CloseCode(1002)));
  cases.push_back(
      Ws("ping_over_125_bytes", Frame(kFin | 0x9, std::string(126, 'p')), CloseCode(1002)));
  cases.push_back(Ws("close_one_byte_payload", Frame(kFin | 0x8, "\x03"), CloseCode(1002)));
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1012, 1015, 2999, 5000, 65535}) {
    cases.push_back(Ws("close_invalid_code_" + std::to_string(code),
                       Frame(kFin | 0x8, ClosePayload(code)), CloseCode(1002)));
  }
  cases.push_back(Ws("close_reason_invalid_utf8", Frame(kFin | 0x8, ClosePayload(1000, "\xff")),
                     CloseCode(1007)));
  // Valid closes are echoed (RFC 6455 5.5.1); no code is answered with 1000.
  cases.push_back(
      Ws("close_3000_echoed", Frame(kFin | 0x8, ClosePayload(3000, "x")), CloseCode(3000)));
  cases.push_back(Ws("close_empty_is_1000", Frame(kFin | 0x8, ""), CloseCode(1000)));
  const std::string pre = "{\"op\":\"ping\",\"id\":1,\"x\":\"";
  cases.push_back(Ws("utf8_overlong", Text(pre + "\xc0\xaf\"}"), CloseCode(1007)));
  cases.push_back(Ws("utf8_overlong_nul", Text(pre + "\xc0\x80\"}"), CloseCode(1007)));
  cases.push_back(Ws("utf8_surrogate", Text(pre + "\xed\xa0\x80\"}"), CloseCode(1007)));
  cases.push_back(Ws("utf8_above_10ffff", Text(pre + "\xf4\x90\x80\x80\"}"), CloseCode(1007)));
  cases.push_back(Ws("utf8_lone_continuation", Text(pre + "\x80\"}"), CloseCode(1007)));
  cases.push_back(Ws("utf8_truncated_at_end", Text(pre + "\"}\xe2\x82"), CloseCode(1007)));
  cases.push_back(Ws("message_over_limit_one_frame",
                     Text(pre + std::string(kMaxMessageBytes, 'a') + "\"}"), CloseCode(1009)));
  cases.push_back(Ws("message_over_limit_across_fragments",
                     Frame(0x1, pre + std::string(kMaxMessageBytes / 2, 'a')) +
                         Frame(0x0, std::string(kMaxMessageBytes / 2, 'b')) +
                         Frame(kFin | 0x0, "\"}"),
                     CloseCode(1009)));
  cases.push_back(Ws("length_64bit_msb_set", HeaderWithLength(kFin | 0x1, 127, uint64_t{1} << 63),
                     CloseCode(1002)));
  cases.push_back(Ws("length_64bit_huge", HeaderWithLength(kFin | 0x1, 127, uint64_t{1} << 40),
                     CloseCode(1009)));
  cases.push_back(Ws("length_16bit_not_minimal", HeaderWithLength(kFin | 0x1, 126, 5) + "abcde",
                     CloseCode(1002)));
  cases.push_back(
      Ws("length_64bit_not_minimal", HeaderWithLength(kFin | 0x1, 127, 300), CloseCode(1002)));
  return cases;
}

std::vector<Case> CommandCases() {
  std::vector<Case> cases;
  auto bad = [&](std::string name, std::string json, std::optional<uint64_t> id) {
    cases.push_back(Ws(std::move(name), Text(json), Error("bad_command", id)));
  };
  cases.push_back(Ws("json_nested_100_deep",
                     Text(R"({"op":"pub","id":3,"room":"r","data":)" + Nested(100) + "}"),
                     Error("bad_json", 3)));
  cases.push_back(Ws("json_nested_60_deep_ok",
                     Text(R"({"op":"pub","id":3,"room":"r","data":)" + Nested(60) + "}"),
                     Replies({{"ok", "", 3}})));
  {
    // Just under max_message_bytes: a big object of many small members.
    std::string data = "{";
    for (int i = 0; data.size() < kMaxMessageBytes - 200; ++i) {
      data += "\"k" + std::to_string(i) + "\":[" + std::to_string(i) + ",true,null,\"v\"],";
    }
    data += "\"end\":{}}";
    cases.push_back(
        Ws("json_huge_within_limit", Text(PubCommand("big", data, 4)), Replies({{"ok", "", 4}})));
  }
  cases.push_back(Ws("json_trailing_garbage", Text(R"({"op":"ping","id":5} x)"), BadJsonAnyId()));
  cases.push_back(Ws("nul_outside_string", Text(std::string(R"({"op":"ping","id":6})") + '\0'),
                     BadJsonAnyId()));
  cases.push_back(Ws("nul_raw_inside_string",
                     Text(std::string(R"({"op":"ping","id":7,"x":"a)") + '\0' + "b\"}"),
                     BadJsonAnyId()));
  cases.push_back(Ws("nul_escaped_in_data", Text(PubCommand("nul", R"({"s":"a\u0000b"})", 8)),
                     Replies({{"ok", "", 8}})));
  // Wrong types, one field at a time (the id is reported whenever it could be read).
  bad("op_number", R"({"op":1,"id":10})", 10);
  bad("op_null", R"({"op":null,"id":11})", 11);
  bad("op_missing", R"({"id":12,"room":"r"})", 12);
  bad("id_string", R"({"op":"ping","id":"13"})", std::nullopt);
  bad("id_negative", R"({"op":"ping","id":-1})", std::nullopt);
  bad("id_float", R"({"op":"ping","id":1.5})", std::nullopt);
  bad("id_over_uint64", R"({"op":"ping","id":18446744073709551616})", std::nullopt);
  bad("room_number", R"({"op":"sub","room":5,"id":14})", 14);
  bad("room_empty", R"({"op":"sub","room":"","id":15})", 15);
  bad("room_too_long", R"({"op":"sub","room":")" + std::string(257, 'r') + R"(","id":16})", 16);
  bad("room_missing", R"({"op":"unsub","id":17})", 17);
  bad("data_missing", R"({"op":"pub","room":"r","id":18})", 18);
  bad("echo_string", R"({"op":"pub","room":"r","data":1,"echo":"no","id":19})", 19);
  bad("presence_number", R"({"op":"sub","room":"r","presence":1,"id":20})", 20);
  bad("since_string", R"({"op":"sub","room":"r","since":"5","id":21})", 21);
  bad("since_seq_string", R"({"op":"sub","room":"r","since":{"seq":"1","epoch":"e"},"id":22})", 22);
  bad("to_number", R"({"op":"send","to":5,"data":1,"id":23})", 23);
  bad("to_empty_array", R"({"op":"send","to":[],"data":1,"id":24})", 24);
  bad("rid_number", R"({"op":"res","rid":5,"data":1,"id":25})", 25);
  bad("timeout_ms_string", R"({"op":"req","to":"u","data":1,"timeout_ms":"5","id":26})", 26);
  {
    std::string to = "[";
    for (int i = 0; i < 101; ++i) to += (i ? ",\"u" : "\"u") + std::to_string(i) + "\"";
    cases.push_back(Ws("to_101_targets", Text(R"({"op":"send","data":1,"id":27,"to":)" + to + "]}"),
                       Error("limit", 27)));
  }
  bad("unknown_op", R"({"op":"subscribe","room":"r","id":28})", 28);
  bad("op_wrong_case", R"({"op":"PING","id":29})", 29);
  bad("non_object_array", R"([{"op":"ping","id":30}])", std::nullopt);
  bad("non_object_string", R"("ping")", std::nullopt);
  bad("non_object_number", "42", std::nullopt);
  bad("non_object_null", "null", std::nullopt);
  cases.push_back(Ws("empty_lines_are_skipped",
                     Text("\n\n \t\r\n{\"op\":\"ping\",\"id\":31}\n\r\n\n"),
                     Replies({{"pong", "", 31}})));
  cases.push_back(Ws("blank_message_gets_no_reply", Text(" \n\r\n"), Replies({})));
  cases.push_back(Ws("empty_message_gets_no_reply", Text(""), Replies({})));
  cases.push_back(Ws("errors_keep_command_order",
                     Text("{\"op\":\"ping\",\"id\":32}\n[\n{\"op\":\"nope\",\"id\":33}\n"
                          "{\"op\":\"ping\",\"id\":34}"),
                     Replies({{"pong", "", 32},
                              {"error", "bad_json", std::nullopt},
                              {"error", "bad_command", 33},
                              {"pong", "", 34}})));
  return cases;
}

// --- fixture -----------------------------------------------------------------------------------

shard::ServerOptions HostileOptions() {
  auto options = TestServerOptions(2);
  options.handshake_timeout_ms = kHandshakeTimeoutMs;
  options.max_head_bytes = kMaxHeadBytes;
  options.max_message_bytes = kMaxMessageBytes;
  return options;
}

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith(HostileOptions()); }

  void StartWith(shard::ServerOptions options) {
    bystander_.reset();
    server_ = std::make_unique<InProcessServer>(std::move(options));
    auto error = server_->Start();
    ASSERT_FALSE(error.has_value()) << *error;
    port_ = server_->port();
    bystander_ = std::make_unique<WsClient>();
    ASSERT_TRUE(ConnectWelcomed(*bystander_, port_, "127.0.0.250"));
    ASSERT_TRUE(Subscribe(*bystander_, "bystander", 1));
  }

  // The server keeps serving everyone else: a fresh client connects and publishes, the
  // bystander receives it and answers a ping.
  void ExpectBystanderServed() {
    WsClient publisher;
    ASSERT_TRUE(ConnectWelcomed(publisher, port_, "127.0.0.249"));
    const std::string data = R"({"n":)" + std::to_string(++publications_) + "}";
    publisher.SendText(PubCommand("bystander", data, 2));
    EXPECT_TRUE(NextIsOk(publisher, 2));
    EXPECT_TRUE(
        IsMsg(bystander_->ReadMessage(kReadTimeoutMs), "bystander", publisher.user(), data));
    bystander_->SendText(R"({"op":"ping","id":)" + std::to_string(100 + publications_) + "}");
    auto pong = bystander_->ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(pong.has_value()) << "bystander got no pong";
    EXPECT_EQ(JsonString(*pong, "op"), "pong") << *pong;
    EXPECT_EQ(JsonUint(*pong, "id"), 100 + publications_) << *pong;
  }

  void Run(const Case& c) {
    SCOPED_TRACE("case " + c.name);
    WsClient client;
    if (c.stage == Stage::kInsteadOfHandshake) {
      ASSERT_TRUE(client.ConnectTcp(port_, "127.0.0.2"));
    } else {
      ASSERT_TRUE(ConnectWelcomed(client, port_, "127.0.0.2"));
    }
    client.SendRaw(c.bytes);
    if (c.half_close) ::shutdown(client.fd(), SHUT_WR);
    const Expect& e = c.expect;
    if (e.http_status != 0) {
      const std::string response = client.RawHttp("");
      const std::string status = "HTTP/1.1 " + std::to_string(e.http_status) + " ";
      EXPECT_EQ(response.rfind(status, 0), 0u) << "expected " << status << "got: " << response;
      if (!e.keep_alive) {
        EXPECT_TRUE(client.WaitEof(kReadTimeoutMs)) << "connection left open after an HTTP error";
      }
    } else if (e.eof_only) {
      EXPECT_TRUE(client.WaitEof(kReadTimeoutMs)) << "connection left open";
      EXPECT_EQ(client.raw_input(), "") << "answered a request that never finished";
    } else if (e.close_code != 0) {
      auto code = client.WaitClose(kReadTimeoutMs);
      ASSERT_TRUE(code.has_value()) << "no close frame (eof=" << client.eof() << ")";
      EXPECT_EQ(*code, e.close_code) << "reason: " << client.close_reason();
      const int64_t deadline = NowMs() + kReadTimeoutMs;
      while (!client.eof() && NowMs() < deadline) client.ReadFrame(100);
      EXPECT_TRUE(client.eof()) << "server kept the connection open after close";
    } else {
      for (const Reply& r : e.replies) ExpectReply(client, r);
      // Still usable, and nothing else was answered in between.
      client.SendText(R"({"op":"ping","id":)" + std::to_string(kUsableId) + "}");
      ExpectReply(client, Reply{"pong", "", kUsableId});
    }
  }

  static void ExpectReply(WsClient& client, const Reply& r) {
    if (r.op == "error" && !r.any_id) {
      EXPECT_TRUE(NextIsError(client, r.code, r.id));
      return;
    }
    auto msg = client.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(msg.has_value()) << "no " << r.op << " reply (close code "
                                 << client.close_code().value_or(0) << ")";
    EXPECT_EQ(JsonString(*msg, "op"), r.op) << *msg;
    if (r.any_id) {
      EXPECT_EQ(JsonString(*msg, "code"), r.code) << *msg;
      EXPECT_FALSE(JsonString(*msg, "reason").empty()) << *msg;
    } else {
      EXPECT_EQ(JsonUint(*msg, "id"), r.id) << *msg;
    }
  }

  void RunAll(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      Run(c);
      SCOPED_TRACE("bystander after case " + c.name);
      ExpectBystanderServed();
      if (HasFatalFailure()) return;
    }
  }

  std::unique_ptr<InProcessServer> server_;
  uint16_t port_ = 0;
  std::unique_ptr<WsClient> bystander_;
  uint64_t publications_ = 0;
};

TEST_F(HostileTest, HttpHeadMatrix) { RunAll(HttpCases()); }

TEST_F(HostileTest, FrameMatrix) { RunAll(FrameCases()); }

TEST_F(HostileTest, CommandMatrix) { RunAll(CommandCases()); }

// A room name with an escaped NUL is its own room, not the C string before the NUL.
TEST_F(HostileTest, RoomWithNulIsDistinctFromItsPrefix) {
  WsClient sub, pub;
  ASSERT_TRUE(ConnectWelcomed(sub, port_, "127.0.0.3"));
  ASSERT_TRUE(ConnectWelcomed(pub, port_, "127.0.0.4"));
  sub.SendText(R"({"op":"sub","room":"a\u0000b","id":1})");
  auto reply = sub.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(reply.has_value());
  const std::string op = JsonString(*reply, "op");
  if (op == "error") {
    EXPECT_EQ(JsonString(*reply, "code"), "bad_command") << *reply;  // refusing it is fine too
  } else {
    ASSERT_EQ(op, "ok") << *reply;
    pub.SendText(PubCommand("a", "1", 2));
    EXPECT_TRUE(NextIsOk(pub, 2));
    pub.SendText(R"({"op":"pub","room":"a\u0000b","data":2,"id":3})");
    EXPECT_TRUE(NextIsOk(pub, 3));
    auto msg = sub.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(JsonField(*msg, "data"), "2") << "a publication to room \"a\" leaked in: " << *msg;
  }
  ExpectBystanderServed();
}

// Command floods: commands past the rate are refused with rate_limited, abuse past the grace
// period closes with 1008, and the bystander (same limits) is never refused meanwhile.
TEST_F(HostileTest, PingCommandFloodIsRateLimitedThenClosedWith1008) {
  auto options = HostileOptions();
  options.commands_per_second = 20;
  options.command_burst = 10;
  options.rate_limit_grace_ms = 300;
  StartWith(options);
  WsClient flood;
  ASSERT_TRUE(ConnectWelcomed(flood, port_, "127.0.0.2"));
  std::string batch;
  for (int i = 1; i <= 30; ++i) batch += R"({"op":"ping","id":)" + std::to_string(i) + "}\n";
  flood.SendText(batch);
  int pongs = 0, limited = 0;
  for (int i = 1; i <= 30; ++i) {
    auto msg = flood.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(msg.has_value()) << i;
    if (JsonString(*msg, "op") == "pong") ++pongs;
    if (JsonString(*msg, "code") == "rate_limited") ++limited;
  }
  EXPECT_EQ(pongs, 10);
  EXPECT_EQ(limited, 20);
  for (int round = 0; round < 50 && !flood.close_code() && !flood.eof(); ++round) {
    flood.SendText(batch);
    while (flood.ReadMessage(20)) {
    }
  }
  ASSERT_TRUE(flood.close_code().has_value()) << "abuse never closed the connection";
  EXPECT_EQ(*flood.close_code(), 1008);
  ExpectBystanderServed();
}

// A flood of WebSocket ping frames from a client that never reads: the pongs it does not take
// pile up past max_queued_bytes and it is closed as a slow consumer (4000), not allowed to grow
// the server's memory.
TEST_F(HostileTest, PingFrameFloodWithoutReadingIsASlowConsumer) {
  auto options = HostileOptions();
  options.max_queued_bytes = 64 * 1024;
  StartWith(options);
  WsClient flood;
  flood.SetRecvBuffer(4096);
  ASSERT_TRUE(ConnectWelcomed(flood, port_, "127.0.0.2"));
  std::string batch;
  for (int i = 0; i < 1000; ++i) batch += Frame(kFin | 0x9, std::string(125, 'p'));
  // Up to ~130 MB of pings: far more than any socket buffers hold.
  for (int round = 0; round < 1000 && !flood.send_failed(); ++round) flood.SendRaw(batch);
  auto code = flood.WaitClose(kReadTimeoutMs);
  if (code.has_value()) {
    EXPECT_EQ(*code, 4000) << flood.close_reason();
  } else {
    EXPECT_TRUE(flood.eof()) << "a client flooding pings without reading was never closed";
  }
  ExpectBystanderServed();
}

// A flood of TCP connections that never send a byte: each is closed by handshake_timeout_ms,
// and meanwhile the bystander is served.
TEST_F(HostileTest, ConnectionFloodWithoutHandshakeIsClosedByTimeout) {
  constexpr size_t kFlood = 400;
  std::vector<std::unique_ptr<WsClient>> silent;
  const int64_t start = NowMs();
  for (size_t i = 0; i < kFlood; ++i) {
    silent.push_back(std::make_unique<WsClient>());
    ASSERT_TRUE(silent.back()->ConnectTcp(port_, SourceIp(i))) << i;
  }
  ExpectBystanderServed();  // while all of them are pending
  size_t closed = 0;
  for (auto& c : silent) {
    const int64_t left = start + kHandshakeTimeoutMs * 4 + 3000 - NowMs();
    if (c->WaitEof(static_cast<int>(std::max<int64_t>(left, 1)))) ++closed;
  }
  EXPECT_EQ(closed, kFlood) << "pending handshakes left open past the timeout";
  EXPECT_GE(NowMs() - start, kHandshakeTimeoutMs - 100);
  ExpectBystanderServed();
}

// Slowloris: many heads trickled one byte per 100 ms. Activity must not extend the handshake
// deadline: each is closed about handshake_timeout_ms after it connected, long before its head
// could finish.
TEST_F(HostileTest, SlowlorisHeadIsClosedByHandshakeTimeout) {
  constexpr size_t kClients = 20;
  const std::string head = Head();
  std::vector<std::unique_ptr<WsClient>> clients;
  for (size_t i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    ASSERT_TRUE(clients.back()->ConnectTcp(port_, SourceIp(i)));
  }
  const int64_t start = NowMs();
  std::vector<int64_t> closed_at(kClients, 0);
  size_t sent = 0, open = kClients;
  while (open > 0 && sent < head.size() && NowMs() - start < 5000) {
    for (size_t i = 0; i < kClients; ++i) {
      if (closed_at[i] != 0) continue;
      clients[i]->SendRaw(std::string_view(head).substr(sent, 1));
      if (clients[i]->WaitEof(0) || clients[i]->send_failed()) {
        closed_at[i] = NowMs();
        --open;
      }
    }
    ++sent;
    // needs server time: handshake_timeout_ms (the trickle must go on past it)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_LT(sent, head.size()) << "a slowloris head completed";
  for (size_t i = 0; i < kClients; ++i) {
    EXPECT_NE(closed_at[i], 0) << "slowloris client " << i << " still open after 5 s";
    if (closed_at[i] == 0) continue;
    EXPECT_GE(closed_at[i] - start, kHandshakeTimeoutMs - 100);
    EXPECT_LE(closed_at[i] - start, kHandshakeTimeoutMs * 4 + 500);
    std::string got(clients[i]->raw_input());
    EXPECT_TRUE(got.empty() || got.rfind("HTTP/1.1 408", 0) == 0) << got;
  }
  ExpectBystanderServed();
}

}  // namespace
}  // namespace ringcast::testing
