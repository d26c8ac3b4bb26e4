// HttpFront: a connection before it is a WebSocket session. It reads HTTP/1.1
// request heads (bounded by limits.max_head_bytes, kept only while partial;
// a head sent in many pieces is scanned once, not re-parsed per receive, see
// net::HttpHeadScanner) until one upgrades: then it validates the upgrade, authenticates the
// client (Access) and opens the session, handing any bytes behind the head
// to the session as WebSocket input. Requests that do not upgrade go to the
// HTTP API (SessionEvents::OnHttpRequest), keep-alive and pipelined; a
// client that pipelines without reading the answers is cut off at
// limits.max_queued_bytes, and each request must have arrived whole within
// keepalive.handshake_timeout_ms of the previous one (Sessions). An upgrade
// on a shard that already holds limits.max_connections_per_shard sessions
// gets 503 with Retry-After: the connection sits in the shard's HTTP reserve
// (Sessions), which keeps /healthz and the API reachable on a full node.
// Part of Sessions; shard thread only.
#pragma once

#include <cstdint>
#include <string_view>

#include "net/http_head.h"
#include "shard/access.h"
#include "shard/connection.h"
#include "shard/server.h"
#include "shard/shard_stats.h"

namespace ringcast::shard {

class Sessions;
class SessionEvents;

// The answer to an upgrade, or a connection, that finds its shard full.
inline constexpr char kServerFullReason[] = "server full: too many connections, retry";
inline constexpr uint32_t kServerFullRetryAfterS = 5;

class HttpFront {
 public:
  HttpFront(Sessions* sessions, SessionEvents* events, Access* access, const ServerOptions& options,
            ShardStats* stats)
      : sessions_(sessions), events_(events), access_(access), options_(options), stats_(stats) {}

  // Bytes received while the connection is in kHandshake.
  void OnBytes(Connection& c, uint32_t slot, std::string_view bytes, int64_t now_unix_s);

 private:
  // Serves the head at the start of `view`; false when the input must stop
  // (upgraded, refused, or the rest has not arrived).
  bool ServeOneHead(Connection& c, uint32_t slot, std::string_view view, HttpProgress* progress,
                    size_t* used, int64_t now_unix_s);
  void Upgrade(Connection& c, uint32_t slot, const net::HttpRequest& req, std::string_view view,
               int64_t now_unix_s);
  static void KeepRest(Connection& c, std::string_view input, size_t consumed,
                       const HttpProgress& progress);

  Sessions* const sessions_;
  SessionEvents* const events_;
  Access* const access_;
  const ServerOptions& options_;
  ShardStats* const stats_;
};

}  // namespace ringcast::shard
