// Access: who a connection is and what it may do (docs/protocol.md,
// Connecting). At the handshake it checks the Origin, then finds the
// identity: the API key makes the connection the server ($server), a JWT
// (when auth.jwt_secret is set) gives the user and its grants, otherwise the
// `user` query parameter or a generated anonymous id. Afterwards it answers
// whether a connection may subscribe or publish to a room. Rooms starting
// with '@' (personal rooms) and the events room belong to the server. One
// per shard; shard thread only (the anonymous counter).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_head.h"
#include "shard/connection.h"
#include "shard/namespaces.h"
#include "shard/server.h"

namespace ringcast::shard {

struct Identity {
  std::string user;
  bool is_server = false;
  std::unique_ptr<Grants> grants;         // a JWT with claims
  std::optional<int64_t> expires_unix_s;  // the token's exp
};

// Why a handshake is refused: the HTTP status and a one-line reason.
struct Refusal {
  int status = 0;
  std::string reason;
};

class Access {
 public:
  Access(const ServerOptions& options, const Namespaces& namespaces, std::string node_id,
         unsigned shard_id);

  bool OriginAllowed(const net::HttpRequest& req) const;
  bool HasApiKey(const net::HttpRequest& req) const;
  // The identity a WebSocket handshake presents, or why it is refused.
  [[nodiscard]] bool Authenticate(const net::HttpRequest& req, int64_t now_unix_s, Identity* id,
                                  Refusal* refusal);
  // The HTTP API: with api.key set, the key; without, loopback peers only.
  // On false, *status is 401 or 403.
  bool ApiAllowed(const net::HttpRequest& req, bool loopback_peer, int* status) const;

  bool IsServerRoom(std::string_view room) const;
  bool MaySubscribe(const Connection& c, std::string_view room) const;
  bool MayPublish(const Connection& c, std::string_view room) const;
  // Whether the room's owner keeps presence for it.
  bool TracksPresence(std::string_view room) const;

 private:
  bool AuthenticateToken(const net::HttpRequest& req, int64_t now_unix_s, Identity* id,
                         Refusal* refusal) const;
  bool AuthenticateAnonymous(const net::HttpRequest& req, Identity* id, Refusal* refusal);

  const ServerOptions& options_;
  const Namespaces& namespaces_;
  const std::string node_id_;
  const unsigned shard_id_;
  uint64_t anon_counter_ = 0;
};

}  // namespace ringcast::shard
