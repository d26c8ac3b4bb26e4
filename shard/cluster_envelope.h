// ClusterEnvelope: what one node tells the others through Redis, as the
// payload of a PUBLISH (docs/design.md, Cluster mode). A room's channel
// carries publications (kPub), direct messages and requests to a user's
// personal room (kDirect, kReq), presence announcements (kAnnounce) and
// disconnects of a user (kDisconnect); a node's own channel carries answers
// to its requests (kRes, kResAck) and its pub/sub lag probes (kProbe).
//
// It carries the origin node id and everything the receiving node's local
// path needs: the publishing shard and connection (a node skips its own
// publisher when echo is off), the publisher's user, the seq and epoch of a
// history room, the rid of a request. Text with length-prefixed strings:
//   "rc1 <kind> <node> <shard> <to> <slot> <gen> <ticket> <number> <tag> <seq> <flags>\n"
//   then room, from, rid, epoch as "<len>:<bytes>", then data to the end.
// Decode accepts exactly what Encode writes and refuses anything else
// (another version, a foreign publisher on the channel). Pure: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/slab.h"

namespace ringcast::shard {

struct ClusterEnvelope {
  enum class Kind : char {
    kPub = 'p',
    kDirect = 'd',
    kReq = 'q',
    kAnnounce = 'a',  // presence join/leave: data is frames' JSON, each "<len>:<json>"
    kDisconnect = 'x',
    kRes = 'r',
    kResAck = 'k',
    kProbe = 'l',  // seq: the sender's monotonic ms
  };
  Kind kind = Kind::kPub;
  std::string node;         // the origin node
  uint32_t shard = 0;       // the origin shard
  uint32_t to_shard = 0;    // kRes, kResAck: the shard on the receiving node
  core::SlabHandle conn{};  // the publisher, responder or requester connection
  uint32_t ticket = 0;
  uint32_t number = 0;   // kRes: the request's number
  uint64_t tag = 0;      // kRes: the rid's tag
  uint64_t seq = 0;      // history rooms (0 = none); kProbe: the send time
  bool echo = true;      // kPub: false = not back to the publishing connection
  bool refused = false;  // kResAck: the requester refused the answer
  std::string room;
  std::string from;
  std::string rid;
  std::string epoch;
  std::string data;

  void Encode(std::string* out) const;
  [[nodiscard]] static std::optional<ClusterEnvelope> Decode(std::string_view in);
};

}  // namespace ringcast::shard
