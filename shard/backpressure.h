// Backpressure: holding publishers back while subscribers are behind.
//
// While more than max(128 MiB, 4 x limits.max_queued_bytes) wait in the
// out-queues of this shard or any other, a connection that publishes stops
// being read: its multishot receive is cancelled, so its TCP window closes
// and its publications wait in its own socket instead of in our memory.
// 128 MiB rather than 64: with 1000 subscribers of one room read at the
// reader's limit (3x and 10x overload), ~64 KiB each did not cover one
// socket's stall, and runs fell into a state of zero windows (thousands of
// window probes), queues run dry while paused, and subscribers cut as slow
// consumers in 11 runs of 20; at 128 MiB in 1 of 11 (bench/history.md).
// Bytes already received when it paused are kept and fed again, in slices,
// once it resumes, which happens below three quarters of that mark: the
// queues are shared by every subscriber, so half of a 64 MiB mark over 1000
// of them was ~250 frames each, one 256-frame sendmsg, and at half the
// subscribers ran dry before new publications reached them
// (drained_while_paused). It also resumes, still under the mark, in a round
// where a connection's queue ran dry (not a paused publisher's own): the
// mark is on the sum, and while some sockets are read slowly (a stalled TCP
// window) their queues hold the sum above three quarters while the others
// idle. With quiet connections about, that makes the mark itself the usual
// resume point, at the cost of a cancel and a re-arm per pause. All input is fed in slices (Feed)
// and a publisher pauses at the first one past the mark, so the queues pass it by at most a slice's
// publications for each publisher resumed in the round, plus what other shards' publishers add
// within a round (their figures are a round old). A few slow consumers cannot trigger it alone:
// each is cut off at max_queued_bytes, far below the mark; and while publishers wait, connections
// whose send has been stuck for kStalledMs are cut as slow consumers, so clients that stop reading
// just under the limit cannot hold every publisher paused for good.
//
// The bus is held the same way: while more than a ring's worth of messages
// (BusPauseMark) wait on the bus toward one shard (a ring and the overflow
// behind it, Outbox::Backlog; this shard's or any other's), publishers stop
// being read, until it is back to half a ring. A publication's work crosses
// the bus twice (to the room's owner, then the owner's deliveries to every
// shard with subscribers), so a backlog anywhere is one that publications add
// to, as with queued bytes. Without it a backlogged bus met its bound
// (Outbox) and refused each further publication with `rate_limited`, paying
// a parse and an error frame for nothing where one shard simply paused its
// publishers; that refusal stays, past Outbox's far higher bound (two rings),
// for what pausing cannot hold back.
// API-key connections are never paused. Part of Sessions; shard thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "shard/connection.h"

namespace ringcast::shard {

class Sessions;
class SessionIo;

class Backpressure {
 public:
  // Bus backlog marks in messages: a bus ring (Mesh::RingCapacityFor, 16384
  // to 131072 slots) and half of one, never below 32768 and 16384. From 32768
  // slots up the pause comes as the ring fills, with the overflow behind it
  // barely started; with 16384-slot rings (six shards or more) it comes at
  // two rings, half the overflow bound. The consumer drains up to a ring a
  // round, and at the resume mark it still has half a round in hand: its
  // rounds, and so the frames per subscriber per sendmsg, stay large.
  // Smaller marks cost deliveries/s: 8192 and 4096 halved the frames per send
  // and cost ~15 %; 32768 and 16384 behind 16384-slot rings sent 45 frames a
  // send where one shard sent 75, and two shards held to 0.6 core delivered
  // ~20 % less than at 131072 (bench/history.md).
  static uint64_t BusPauseMark(size_t ring_capacity) {
    return std::max<uint64_t>(ring_capacity, 32768);
  }
  static uint64_t BusResumeMark(size_t ring_capacity) {
    return std::max<uint64_t>(ring_capacity / 2, 16384);
  }

  Backpressure(Sessions* sessions, SessionIo* io, uint64_t max_queued_bytes);

  // After input from a connection that published: pauses it if the queues
  // or the bus are over their marks.
  void AfterPublish(Connection& c, uint32_t slot);
  // Feeds a connection's input in slices of kSliceBytes, checking the marks
  // after each (AfterPublish) and deferring what follows a pause, so that a
  // pause comes within a slice of the mark, not a receive buffer (16 KiB of
  // 64-byte publications to 1000 subscribers is 16 MiB of frames).
  static constexpr size_t kSliceBytes = 4096;
  void Feed(Connection& c, uint32_t slot, std::string_view input);
  // A subscriber's queue ran dry (Sessions::OnSent).
  void OnQueueDrained() { starved_ = true; }
  // Once a round: resumes paused publishers once both are at or below their
  // resume marks, or when a queue ran dry this round and the queues are below
  // the pause mark.
  void EndRound();
  // The larger of this shard's queued bytes and the busiest other shard's.
  uint64_t Pressure() const;
  // Whether the queues and the bus are both at or below their resume marks.
  bool MayResume() const;
  uint64_t high_mark() const { return high_mark_; }
  uint64_t resume_mark() const { return resume_mark_; }
  uint64_t bus_resume_mark() const { return bus_resume_mark_; }
  size_t paused() const { return paused_.size(); }

 private:
  bool ResumeDeferred(Connection& c, uint32_t slot);
  // Feeds input a slice at a time until it ends, the connection pauses or it
  // is no longer open; returns the bytes fed.
  size_t FeedSlices(Connection& c, uint32_t slot, std::string_view input);
  void CutStalledConsumers();

  Sessions* const sessions_;
  SessionIo* const io_;
  const uint64_t high_mark_;
  const uint64_t resume_mark_;  // three quarters of the mark
  const uint64_t bus_pause_mark_;
  const uint64_t bus_resume_mark_;
  std::vector<uint32_t> paused_;
  uint64_t next_stall_sweep_ms_ = 0;
  uint64_t paused_since_ms_ = 0;  // when paused_ last became non-empty
  bool starved_ = false;          // a queue ran dry this round while paused_
};

}  // namespace ringcast::shard
