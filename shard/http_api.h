// HttpApi: the HTTP API for backends on the WebSocket port (docs/protocol.md,
// HTTP API). A route table maps each path to its method, whether it needs
// API access (the key, or a loopback peer without one; then also a Host and
// Origin that are not a browser's cross-site request, see ApiGuard) and its
// handler; one handler per endpoint. Requests are keep-alive and pipelined; bodies are
// bounded by limits.max_body_bytes and must come with Content-Length.
// Answers that another shard gives (publish, send, presence) complete a
// reply ticket, so responses keep request order. Shard thread only.
// GET /dashboard serves the page that reads the API (DashboardPage).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_head.h"
#include "proto/command.h"
#include "shard/access.h"
#include "shard/api_guard.h"
#include "shard/local_rooms.h"
#include "shard/metrics.h"
#include "shard/sessions.h"
#include "shard/users.h"

namespace ringcast::shard {

class HttpApi {
 public:
  HttpApi(const ServerOptions& options, Sessions* sessions, const Access& access, LocalRooms* rooms,
          Users* users, const Metrics& metrics, unsigned shard_id);

  // Serves one request whose head is parsed; returns the bytes it took (head
  // and body), or 0 while its body is still arriving. A refusal that ends
  // the connection leaves it closing.
  size_t Serve(Connection& c, uint32_t slot, const net::HttpRequest& req, std::string_view input);

 private:
  struct Call {
    Connection& c;
    uint32_t slot;
    const net::HttpRequest& req;
    std::string_view body;
    bool keep_alive;
    bool head;  // HEAD: the answer's headers without its body
  };
  enum class Method : uint8_t { kGet, kPost };
  struct Route {
    std::string_view path;
    Method method;
    bool needs_access;  // the API key, or a loopback peer when no key is set
    void (HttpApi::*handler)(const Call& call);
  };

  void Dispatch(const Call& call);
  void Healthz(const Call& call);
  void Prometheus(const Call& call);
  void Stats(const Call& call);
  void Dashboard(const Call& call);
  void Presence(const Call& call);
  void Publish(const Call& call);
  void Send(const Call& call);
  void Disconnect(const Call& call);
  bool ParseBody(const Call& call, proto::Op op);
  void Answer(const Call& call, int status, std::string_view content_type, std::string_view body);
  void Error(const Call& call, int status, std::string_view code, std::string_view reason);
  void Respond(const Call& call, std::string response);
  uint32_t Ticket(const Call& call);

  const ServerOptions& options_;
  Sessions* const sessions_;
  const Access& access_;
  LocalRooms* const rooms_;
  Users* const users_;
  const Metrics& metrics_;
  const unsigned shard_id_;
  const ApiGuard guard_;
  proto::CommandParser parser_;
  proto::Command command_;
};

}  // namespace ringcast::shard
