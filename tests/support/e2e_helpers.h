// Small assertions shared by the end-to-end tests: connecting many clients
// (spread over loopback source addresses, since a process may hold only
// 20000 fds and each source address has its own ephemeral port range), and
// reading the reply a command must produce. Every read has a timeout.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/ws_client.h"

namespace ringcast::testing {

inline constexpr int kReadTimeoutMs = 5000;

// 127.0.0.2, 127.0.0.3, ... 127.0.0.251, then around again.
inline std::string SourceIp(size_t i) { return "127.0.0." + std::to_string(2 + i % 250); }

// Connects and reads the welcome; failures are reported through gtest.
inline ::testing::AssertionResult ConnectWelcomed(WsClient& client, uint16_t port,
                                                  const std::string& src_ip = "127.0.0.1") {
  if (!client.Connect(port, "/ws", src_ip)) {
    return ::testing::AssertionFailure() << "connect failed: " << client.last_error();
  }
  if (!client.ReadWelcome(kReadTimeoutMs)) {
    return ::testing::AssertionFailure() << "no welcome frame";
  }
  return ::testing::AssertionSuccess();
}

inline std::vector<std::unique_ptr<WsClient>> ConnectMany(uint16_t port, size_t n) {
  std::vector<std::unique_ptr<WsClient>> clients;
  for (size_t i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    EXPECT_TRUE(ConnectWelcomed(*clients.back(), port, SourceIp(i))) << "client " << i;
  }
  return clients;
}

// The shard a connection landed on, from its sid (node-shard-slot-gen).
inline int ShardOf(const WsClient& c) {
  size_t a = c.sid().find('-');
  return std::stoi(c.sid().substr(a + 1, c.sid().find('-', a + 1) - a - 1));
}

// Connects `user` (via ?user=) until it has connections on both shards of a
// 2-shard server; keeps them all (SO_REUSEPORT spreads by 4-tuple).
inline std::vector<WsClient> ConnectOnBothShards(uint16_t port, const std::string& user) {
  std::vector<WsClient> conns;
  bool have[2] = {false, false};
  for (size_t i = 0; i < 64 && !(have[0] && have[1]); ++i) {
    conns.emplace_back();
    EXPECT_TRUE(conns.back().Connect(port, "/ws?user=" + user, SourceIp(i)));
    EXPECT_TRUE(conns.back().ReadWelcome());
    have[ShardOf(conns.back())] = true;
  }
  EXPECT_TRUE(have[0] && have[1]) << "could not land a connection on each shard";
  return conns;
}

// A counter or gauge of GET /api/stats summed over the shards ("total"), or nullopt when the
// API does not answer. The request's own connection is open while it is answered, so
// `connections` counts it.
inline std::optional<uint64_t> StatsTotal(uint16_t port, const char* name) {
  WsClient http;
  if (!http.ConnectTcp(port, "127.0.0.1")) return std::nullopt;
  const std::string response =
      http.RawHttp("GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0) return std::nullopt;
  const size_t body = response.find("\r\n\r\n");
  return JsonUint(JsonField(response.substr(body + 4), "total"), name);
}

// Reads the next message and checks it is {"op":"ok","id":id,...}.
inline ::testing::AssertionResult NextIsOk(WsClient& client, uint64_t id) {
  auto msg = client.ReadMessage(kReadTimeoutMs);
  if (!msg) return ::testing::AssertionFailure() << "no reply for id " << id;
  if (JsonString(*msg, "op") != "ok" || JsonUint(*msg, "id") != id) {
    return ::testing::AssertionFailure() << "expected ok id " << id << ", got " << *msg;
  }
  return ::testing::AssertionSuccess();
}

// Reads the next message and checks it is an error with `code` (and `id` when given).
inline ::testing::AssertionResult NextIsError(WsClient& client, const std::string& code,
                                              std::optional<uint64_t> id) {
  auto msg = client.ReadMessage(kReadTimeoutMs);
  if (!msg) return ::testing::AssertionFailure() << "no error reply (" << code << ")";
  if (JsonString(*msg, "op") != "error" || JsonString(*msg, "code") != code ||
      JsonUint(*msg, "id") != id) {
    return ::testing::AssertionFailure() << "expected error " << code << " id "
                                         << (id ? std::to_string(*id) : "none") << ", got " << *msg;
  }
  if (JsonString(*msg, "reason").empty()) {
    return ::testing::AssertionFailure() << "error without a reason: " << *msg;
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult Subscribe(WsClient& client, const std::string& room,
                                            uint64_t id) {
  client.SendText(R"({"op":"sub","room":)" + JsonQuote(room) + R"(,"id":)" + std::to_string(id) +
                  "}");
  return NextIsOk(client, id);
}

// A pub command with data given as raw JSON.
inline std::string PubCommand(const std::string& room, const std::string& data_json,
                              std::optional<uint64_t> id = std::nullopt) {
  std::string cmd = R"({"op":"pub","room":)" + JsonQuote(room) + R"(,"data":)" + data_json;
  if (id) cmd += R"(,"id":)" + std::to_string(*id);
  return cmd + "}";
}

// Checks `msg` is exactly {"op":"msg","room":room,"from":from,"data":data}
// (any key order, no other keys: no seq without history).
inline ::testing::AssertionResult IsMsg(const std::optional<std::string>& msg,
                                        const std::string& room, const std::string& from,
                                        const std::string& data_json) {
  if (!msg)
    return ::testing::AssertionFailure() << "no message (expected data " << data_json << ")";
  if (JsonKeys(*msg) != "data,from,op,room" || JsonString(*msg, "op") != "msg" ||
      JsonString(*msg, "room") != room || JsonString(*msg, "from") != from ||
      JsonField(*msg, "data") != JsonMinify(data_json)) {
    return ::testing::AssertionFailure() << "expected msg room=" << room << " from=" << from
                                         << " data=" << data_json << ", got " << *msg;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace ringcast::testing
