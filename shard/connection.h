// Connection: one client socket's state, living in its shard's slab and named
// by a {slot, generation} handle.
//
// States: kHandshake (reading the HTTP head) -> kOpen (WebSocket) ->
// kClosing (close frame queued: flush it; then end the socket when it echoes
// the peer's close, or half-close and wait briefly for the peer when the
// server started the close) -> kDead (socket shut down; the slot is freed
// once no operation is in flight). An idle open connection owns no receive buffer, no wslay context
// and no heap memory beyond its slot (docs/design.md, Connections). Replies
// keep command order even when some are answered by another shard: see
// ReplyTickets, which exists only while a reply waits. Shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/boxed_string.h"
#include "net/frame_reader.h"
#include "net/http_head_scanner.h"
#include "shard/out_queue.h"
#include "shard/reply_tickets.h"
#include "shard/subscription_index.h"

namespace ringcast::shard {

enum class ConnState : uint8_t { kHandshake, kOpen, kClosing, kDead };

// What a verified JWT allows (absent lists mean "anything").
struct Grants {
  std::optional<std::vector<std::string>> rooms;  // glob patterns for sub
  std::optional<std::vector<std::string>> pub;    // glob patterns for pub
  std::string info_json;                          // shown in presence
};

// How far reading an HTTP request has got, so that no byte of a head sent in
// many pieces is looked at more than a few times: where the search for the
// head's end stopped, and, once the head is parsed and its body is not all
// here, how many bytes the whole request takes.
struct HttpProgress {
  net::HttpHeadScanner scanner;
  size_t wait_bytes = 0;  // head + body; 0 while the head is incomplete
};

// An HTTP request that has partly arrived.
struct HttpInput {
  std::string bytes;
  HttpProgress progress;
};

// A paused publisher's input (Backpressure): up to a buffer ring of it, fed
// again a slice at a time. Slices are consumed from the front by moving
// `pos`, not by erasing, so a resume that pauses again after one slice costs
// the slice, not a copy of the megabytes behind it; the consumed front is
// dropped once it is most of the buffer.
struct DeferredInput {
  std::string bytes;
  size_t pos = 0;

  std::string_view Rest() const { return std::string_view(bytes).substr(pos); }
  bool empty() const { return pos == bytes.size(); }
  void Consume(size_t n) { pos += n; }
  void Append(std::string_view more) {
    if (pos != 0 && pos >= bytes.size() / 2) {
      bytes.erase(0, pos);
      pos = 0;
    }
    bytes.append(more);
  }
};

// The fields are ordered by size so that nothing is padding: an idle
// connection's slot is most of its memory (docs/design.md, Memory per idle
// connection), and tests/unit/shard/connection_test.cc pins sizeof.
struct Connection {
  static constexpr int kHistoryJoinBits = 21;
  static constexpr int kPresenceAskBits = 3;

  // 8-byte fields.
  OutQueue out;
  net::WsReadState ws;
  SubRefs subs;  // its rooms; the first one inline
  core::BoxedString user;
  std::unique_ptr<HttpInput> head;        // partial HTTP request, only while it is partial
  std::unique_ptr<ReplyTickets> tickets;  // only while a reply waits
  std::unique_ptr<Grants> grants;         // only for JWT connections with claims
  // Input not yet handled because the connection paused (Backpressure): the
  // rest of a read cut short by the pause and what was already in the
  // completion queue; handled when it resumes, in order.
  std::unique_ptr<DeferredInput> deferred;
  uint64_t send_started_ms = 0;  // when the send in flight was submitted
  uint64_t last_rx_ms = 0;       // last bytes from the peer (keepalive)
  // One time for each life: an HTTP connection never opens a WebSocket
  // after its upgrade, and a WebSocket never reads HTTP again.
  union {
    uint64_t http_start_ms = 0;  // kHandshake: when the request being read began (Sessions)
    uint64_t refill_ms;          // kOpen on: command token bucket, time of the last refill
  };
  uint64_t limited_since_ms = 0;  // start of the current run of refused commands, 0 if none
  uint64_t tokens_milli = 0;      // command tokens x 1000
  // 4-byte fields.
  int fd = -1;
  uint32_t send_round = 0;  // loop round that submitted the send in flight
  uint32_t in_flight_bytes = 0;
  uint32_t token_exp_s = 0;  // the token's exp (unix seconds, clamped), 0 = none
  // Subs to history rooms waiting for their owner's answer: fewer than
  // limits.max_subscriptions_per_connection + 1 <= 2^20 + 1 (kHistoryJoinBits).
  uint32_t history_joins : kHistoryJoinBits = 0;
  // Presence queries waiting for their owner's answer: at most
  // LocalRooms::kMaxPresenceInFlight, 4 (kPresenceAskBits).
  uint32_t presence_asks : kPresenceAskBits = 0;
  // Flags, in the rest of that word and the byte after the state.
  bool recv_armed : 1 = false;
  bool send_in_flight : 1 = false;
  bool in_flush_list : 1 = false;
  bool shut_write : 1 = false;         // close frame sent and write side shut down
  bool close_after_flush : 1 = false;  // kClosing: shut down once the queue drains
  bool end_after_flush : 1 = false;    // kClosing: the peer closed first; end once the echo is out
  bool is_server : 1 = false;          // presented the API key: acts as the server
  bool announced : 1 = false;          // its status 1 event went out (events room)
  // 2- and 1-byte fields.
  uint16_t in_flight_nodes = 0;  // queue entries covered by the send in flight
  ConnState state = ConnState::kHandshake;
  bool published : 1 = false;    // published since its last receive (backpressure)
  bool paused : 1 = false;       // reading stopped while subscribers are behind
  bool http_close : 1 = false;   // HTTP API: close once the pending responses are out
  bool http_served : 1 = false;  // HTTP API: answered a request (keep-alive from then on)
  bool websocket : 1 = false;    // upgraded: counts against max_connections_per_shard
};

}  // namespace ringcast::shard
