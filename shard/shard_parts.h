// ShardParts: everything one shard is made of except its io_uring and its
// outbox, wired together: sessions, the HTTP API and the commands above them,
// this shard's side of rooms, the rooms it owns, users, and the timers they
// share. It routes what arrives from the bus to the part that handles it
// (Dispatch) and timer expiries to their owner (OnTimer). The Shard gives it
// the ring (SessionIo) and the bus (BusPort); unit tests give it fakes, so
// they run the very wiring and dispatch the server runs. Shard thread only.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "core/timer_wheel.h"
#include "net/frame_writer.h"
#include "shard/access.h"
#include "shard/bus_message.h"
#include "shard/bus_port.h"
#include "shard/commands.h"
#include "shard/http_api.h"
#include "shard/local_rooms.h"
#include "shard/metrics.h"
#include "shard/namespaces.h"
#include "shard/room_owner.h"
#include "shard/server.h"
#include "shard/sessions.h"
#include "shard/shard_stats.h"
#include "shard/users.h"

namespace ringcast::shard {

class ShardParts final : public SessionEvents {
 public:
  // `options` must outlive the parts (the Shard keeps its own copy).
  ShardParts(unsigned id, const ServerOptions& options, BusPort* port, SessionIo* io,
             ShardStats* stats, const Metrics* metrics, const core::Clock* clock);

  // Hands a bus message to its handler. `owner_refuses`: the owner refuses
  // publications (its outbox is backlogged).
  void Dispatch(unsigned from, BusMessage msg, bool owner_refuses, uint64_t now_ms);
  void OnTimer(uint64_t key);
  // Fires the timers due at now_ms. Timers cannot be cancelled, so an entry
  // whose connection or request is gone waits until due (up to a minute);
  // whenever the wheel has doubled since the last sweep such entries are
  // dropped: amortized O(1) per timer, and the wheel stays within twice its
  // live entries (plus kTimerSweepFloor).
  void AdvanceTimers(uint64_t now_ms);
  static constexpr size_t kTimerSweepFloor = 4096;

  // SessionEvents.
  bool OnText(Connection& c, uint32_t slot, std::string_view message) override;
  size_t OnHttpRequest(Connection& c, uint32_t slot, const net::HttpRequest& req,
                       std::string_view input) override;
  void OnOpen(Connection& c, uint32_t slot) override;
  void OnFree(Connection& c, uint32_t slot) override;

  // Cluster mode (shard/backplane.h): set once, before the first round.
  void SetCluster(ClusterPort* cluster) {
    owner_.SetCluster(cluster);
    users_.SetCluster(cluster);
  }

  Sessions& sessions() { return sessions_; }
  RoomOwner& owner() { return owner_; }
  LocalRooms& rooms() { return rooms_; }
  Users& users() { return users_; }
  core::TimerWheel& timers() { return timers_; }

 private:
  net::FrameWriter writer_;
  core::TimerWheel timers_;
  size_t timer_sweep_mark_ = kTimerSweepFloor;
  Namespaces namespaces_;
  Access access_;
  Sessions sessions_;
  RoomOwner owner_;
  LocalRooms rooms_;
  Users users_;
  Commands commands_;
  HttpApi http_;
};

}  // namespace ringcast::shard
