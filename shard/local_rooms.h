// LocalRooms: this shard's side of rooms, between its connections and the
// rooms' owners (docs/design.md, Data flow of one publication).
//
// Subscribe: the first local subscriber of a room makes this shard ask the
// owner to record it (bus::Join); `ok` goes out only once the owner has
// answered, so no publication after `ok` can miss the subscriber. For rooms
// with history the owner answers each subscriber itself (seq, epoch, replay)
// and the subscriber joins the local room only with that answer, so replay
// and live messages neither overlap nor leave a gap. The last local
// unsubscribe tells the owner (bus::Leave). Publications go to the owner
// (bus::Publish); what the owner fans out arrives as bus::Deliver and is
// queued to every local subscriber. It also turns owners' answers
// (publication acks, presence answers) into replies. Shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "proto/command.h"
#include "shard/access.h"
#include "shard/bus_message.h"
#include "shard/bus_port.h"
#include "shard/namespaces.h"
#include "shard/sessions.h"
#include "shard/subscription_index.h"

namespace ringcast::shard {

class LocalRooms {
 public:
  LocalRooms(BusPort* port, Sessions* sessions, const Access& access, const Namespaces& namespaces,
             const ServerOptions& options, ShardStats* stats);

  // The `sub` command (authorization already checked).
  void Subscribe(Connection& c, uint32_t slot, const proto::Command& cmd);
  // The `unsub` command: answers ok even when not subscribed.
  void Unsubscribe(Connection& c, uint32_t slot, const proto::Command& cmd);
  // Every connection of a user is subscribed to "@user" from its start.
  void JoinPersonalRoom(Connection& c, uint32_t slot);
  // Drops every subscription of a connection that is being freed.
  void LeaveAll(Connection& c);
  // Hands a publication to its room's owner. False (nothing sent) when the
  // bus refuses new work toward it.
  [[nodiscard]] bool Publish(std::unique_ptr<PubRequest> req);
  // The same, always sent: the server's own status events, which every
  // connection's open and close produce once.
  void PublishAlways(std::unique_ptr<PubRequest> req);
  // At most this many presence queries of one connection wait for their
  // owners: an answer can be megabytes (max_presence_users x info), built on
  // the owner before the asker's max_queued_bytes can act.
  static constexpr uint32_t kMaxPresenceInFlight = 4;
  // Why a presence query may not be asked now (too many of the connection's
  // in flight, or the owner's bus backlogged: both "retry later"), nullopt if
  // it may.
  std::optional<std::string_view> PresenceRefusal(const Connection& c, std::string_view room) const;
  // Asks the room's owner who is present; the answer completes `ticket`.
  // Only when PresenceRefusal said nothing.
  void AskPresence(Connection& c, uint32_t slot, std::string_view room, uint32_t ticket);
  // The local room "@user", if any of the user's connections is here.
  LocalRoom* PersonalRoom(std::string_view user);

  void OnDeliver(bus::Deliver msg);
  void OnJoinAck(bus::JoinAck msg);
  void OnPubAck(const bus::PubAck& ack);
  void OnPresenceAnswer(std::unique_ptr<PresenceQuery> query);

 private:
  bool SubscribeAgain(Connection& c, uint32_t slot, LocalRoom* room, const proto::Command& cmd);
  void AwaitJoin(Connection& c, uint32_t slot, LocalRoom* room, std::optional<uint64_t> id);
  void SendJoin(std::unique_ptr<JoinRequest> req, uint32_t join_epoch);
  void FinishSubscriber(LocalRoom* room, JoinRequest* req);
  void Unsubscribe(Connection& c, uint32_t sub_index);
  // Tells the owner of `room` (by name: the LocalRoom may be erased already).
  void Leave(std::string room, LeaveScope scope);
  // `listening`: after this change some subscriber of the room here wants
  // join/leave events (the owner announces only to such shards).
  void SendPresenceDelta(const Connection& c, std::string_view room, int delta, bool listening);

  BusPort* const port_;
  Sessions* const sessions_;
  const Access& access_;
  const Namespaces& namespaces_;
  const ServerOptions& options_;
  ShardStats* const stats_;
  SubscriptionIndex index_;
  uint32_t join_epoch_ = 0;
  std::string scratch_;
};

}  // namespace ringcast::shard
