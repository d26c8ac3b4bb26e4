// BusMessage: what one shard asks of another, one type per kind.
//
// Every kind is a struct with named fields and owned payloads (unique_ptr,
// FrameRef), so a message dropped on any path frees what it carries. On the
// SPSC rings a message travels as a 24-byte BusSlot (Encode releases the
// payload into the slot, Decode adopts it back); nothing else reads a slot.
// The sending shard is known from the ring a message came from, so it is not
// in the message. Handlers run on the receiving shard's thread (docs/design.md,
// Cross-shard bus).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/shared_frame.h"
#include "core/slab.h"

namespace ringcast::shard {

// A publication travelling from the shard that received it to the room's owner.
struct PubRequest {
  std::string room;
  std::string from;
  std::string data;
  core::SlabHandle conn{};
  uint32_t ticket = 0;   // the publisher's reply ticket; 0 = no reply wanted
  uint8_t origin = 0;    // the publisher's shard
  bool echo = true;      // false: not delivered back to the publishing connection
  bool direct = false;   // `send` to a user's personal room: framed without the room
  uint32_t send_id = 0;  // direct: the origin's pending send (0 = none)
  std::string rid;       // direct `req`: framed as {"op":"req",...,"rid":rid}
};

// A subscribing shard asks the owner to record it (room_join, when it is the
// room's first local subscriber) and/or, for rooms with history, to answer
// one subscriber with the room's seq and epoch and replay what it missed.
struct JoinRequest {
  std::string room;
  bool room_join = false;
  bool counts_conn = false;  // a personal room: the owner counts connections
  bool presence = false;     // the subscriber asked for join/leave events
  bool has_conn = false;     // answer for `conn`
  core::SlabHandle conn{};
  uint32_t ticket = 0;  // its reply ticket, 0 = no reply wanted
  std::optional<uint64_t> since_seq;
  std::string since_epoch;
  // Filled by the owner.
  uint64_t seq = 0;
  std::string epoch;
  bool recovered = false;
  std::vector<core::FrameRef> replay;  // in seq order
};

// One connection of `user` entered (+1) or left (-1) `room`.
struct PresenceDelta {
  std::string room;
  std::string user;
  std::string info_json;
  int delta = 0;
  // After this change, the sending shard has subscribers of the room that
  // asked for join/leave events: the owner announces to it only then.
  bool listening = false;
};

struct PresenceQuery {
  std::string room;
  core::SlabHandle conn{};
  uint32_t ticket = 0;
  std::string users_json;    // filled by the owner: [{"user":..,"info":..,"conns":n},...]
  uint64_t count = 0;        // users present, listed or not
  bool truncated = false;    // users_json lists only limits.max_presence_users of them
  bool unavailable = false;  // cluster mode: Redis could not answer (`unavailable`)
};

// An answer to a `req`, on its way to the requester's shard, which takes it
// only from the request's target user with the rid's tag (shard/rid.h) and
// tells the responder's shard how it went (bus::ResAck).
struct ResAnswer {
  uint32_t request = 0;  // the requester shard's request number
  uint64_t tag = 0;      // the rid's random tag
  std::string from;      // the responder's user id
  std::string data;
  core::SlabHandle responder{};  // the answering connection
  uint32_t ticket = 0;           // its reply ticket; 0 = only a refusal is answered
  uint8_t origin = 0;            // the responder's shard
  uint32_t request_shard = 0;    // the requester's shard (the rid's)
  std::string origin_node;       // cluster mode: the responder's node when not this one
};

// Who in a room receives a delivered frame.
enum class Audience : uint8_t {
  kEveryone,      // every subscriber
  kPresenceOnly,  // subscribers that asked for join/leave events
};

// Whether the publishing connection gets its own publication back.
enum class Echo : uint8_t { kYes, kSkipPublisher };

// Whether the owner took a publication or a direct message.
// kUnavailable: cluster mode, Redis could not take it (error `unavailable`).
enum class Outcome : uint8_t { kAccepted, kRefused, kUnavailable };

// What a shard no longer has in a room (both may hold).
enum class LeaveScope : uint8_t {
  kOneConnection = 1,   // a personal room: one of the user's connections left
  kLastSubscriber = 2,  // the shard has no subscriber of the room left
};
constexpr LeaveScope operator|(LeaveScope a, LeaveScope b) {
  return static_cast<LeaveScope>(static_cast<uint8_t>(a) | static_cast<uint8_t>(b));
}
constexpr bool Has(LeaveScope set, LeaveScope bit) {
  return (static_cast<uint8_t>(set) & static_cast<uint8_t>(bit)) != 0;
}

namespace bus {

// origin -> owner: frame, record and fan out a publication.
struct Publish {
  std::unique_ptr<PubRequest> req;
};
// owner -> subscriber shard: queue a frame to the room's local subscribers.
struct Deliver {
  core::FrameRef frame;  // the room name is the frame's tag
  Audience audience = Audience::kEveryone;
  Echo echo = Echo::kYes;
  uint8_t origin = 0;  // the publisher's shard (with kSkipPublisher)
  core::SlabHandle publisher{};
};
// subscriber shard -> owner, and back answered as JoinAck.
struct Join {
  std::unique_ptr<JoinRequest> req;
  uint32_t join_epoch = 0;  // matches the ack to the local room that asked
};
struct JoinAck {
  std::unique_ptr<JoinRequest> req;
  uint32_t join_epoch = 0;
};
// subscriber shard -> owner.
struct Leave {
  std::unique_ptr<std::string> room;
  LeaveScope scope = LeaveScope::kLastSubscriber;
};
// owner -> publisher's shard: the answer to a publication.
struct PubAck {
  core::SlabHandle conn{};
  uint32_t ticket = 0;
  Outcome outcome = Outcome::kAccepted;
  std::optional<uint64_t> seq;  // rooms with history
};
// owner -> sender's shard: the answer for one target of a direct message.
struct SendAck {
  uint32_t send_id = 0;
  Outcome outcome = Outcome::kAccepted;
  uint64_t reached = 0;  // the user's connections reached
};
// any shard -> every shard: close the user's connections.
struct Disconnect {
  std::unique_ptr<std::string> user;
};
// responder's shard -> requester's shard.
struct Res {
  std::unique_ptr<ResAnswer> answer;
};
// requester's shard -> responder's shard: kRefused when the rid names no
// request sent to the responder (its `res` gets not_allowed).
struct ResAck {
  core::SlabHandle conn{};
  uint32_t ticket = 0;
  Outcome outcome = Outcome::kAccepted;
};
// subscriber shard -> owner.
struct Presence {
  std::unique_ptr<PresenceDelta> delta;
};
// asking shard -> owner, and back answered as PresenceAnswer.
struct PresenceAsk {
  std::unique_ptr<PresenceQuery> query;
};
struct PresenceAnswer {
  std::unique_ptr<PresenceQuery> query;
};

}  // namespace bus

using BusMessage = std::variant<bus::Publish, bus::Deliver, bus::Join, bus::JoinAck, bus::Leave,
                                bus::PubAck, bus::SendAck, bus::Disconnect, bus::Res, bus::Presence,
                                bus::PresenceAsk, bus::PresenceAnswer, bus::ResAck>;

// A message as it sits in a ring: the variant's index, small fields and one
// owned pointer or value. Trivially copyable, as SpscRing requires.
struct BusSlot {
  uint8_t kind;
  uint8_t small;  // kind-specific: enums, origin
  uint8_t extra;  // kind-specific
  uint8_t aux;    // kind-specific
  uint32_t u32;   // ticket, epoch, send id
  core::SlabHandle conn;
  union {
    void* ptr;
    uint64_t value;
  };
};
static_assert(sizeof(BusSlot) == 24);

// Moves the message's payload into a slot; the slot then owns it.
BusSlot Encode(BusMessage&& msg);
// Takes the payload back out of a slot produced by Encode.
BusMessage Decode(const BusSlot& slot);

}  // namespace ringcast::shard
