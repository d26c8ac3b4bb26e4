#include "shard/backpressure.h"

#include <algorithm>
#include <memory>
#include <string>

#include "shard/sessions.h"

namespace ringcast::shard {

namespace {
constexpr uint64_t kStalledMs = 2000;  // a send stuck this long while publishers wait
constexpr uint64_t kSweepEveryMs = 1000;
}  // namespace

Backpressure::Backpressure(Sessions* sessions, SessionIo* io, uint64_t max_queued_bytes)
    : sessions_(sessions),
      io_(io),
      high_mark_(std::max<uint64_t>(uint64_t{128} << 20, 4 * max_queued_bytes)),
      resume_mark_(high_mark_ / 4 * 3),
      bus_pause_mark_(BusPauseMark(io->BusRingCapacity())),
      bus_resume_mark_(BusResumeMark(io->BusRingCapacity())) {}

uint64_t Backpressure::Pressure() const {
  // This shard's own queues count as they are now (its published figure is a
  // round old, and a round late is a round of idle subscribers); other
  // shards' as of their last round.
  return std::max(io_->PeerPressure(), sessions_->queued_total());
}

bool Backpressure::MayResume() const {
  return Pressure() <= resume_mark_ && io_->BusBacklog() <= bus_resume_mark_;
}

void Backpressure::AfterPublish(Connection& c, uint32_t slot) {
  c.published = false;
  if (c.state != ConnState::kOpen || c.paused || c.is_server) return;
  if (Pressure() <= high_mark_ && io_->BusBacklog() <= bus_pause_mark_) return;
  c.paused = true;
  if (paused_.empty()) paused_since_ms_ = sessions_->now_ms();
  paused_.push_back(slot);
  sessions_->CountPause();
  if (c.recv_armed) io_->CancelRecv(sessions_->HandleOf(slot));
}

void Backpressure::EndRound() {
  bool starved = starved_;
  starved_ = false;
  if (paused_.empty()) return;
  // A queue that ran dry lets them go as soon as the queues are under the mark.
  uint64_t mark = starved ? high_mark_ : resume_mark_;
  if (Pressure() > mark || io_->BusBacklog() > bus_resume_mark_) {
    CutStalledConsumers();
    return;
  }
  sessions_->CountPausedMs(sessions_->now_ms() - paused_since_ms_);
  std::vector<uint32_t> slots;
  slots.swap(paused_);
  for (uint32_t slot : slots) {
    if (!sessions_->IsLive(slot)) continue;
    Connection& c = sessions_->At(slot);
    if (!c.paused) continue;
    c.paused = false;
    c.last_rx_ms = sessions_->now_ms();  // its silence while paused was ours
    if (c.deferred && c.state == ConnState::kOpen && !ResumeDeferred(c, slot)) continue;
    sessions_->Rearm(c, slot);
  }
}

void Backpressure::CutStalledConsumers() {
  uint64_t now_ms = sessions_->now_ms();
  if (now_ms < next_stall_sweep_ms_) return;
  next_stall_sweep_ms_ = now_ms + kSweepEveryMs;
  sessions_->ForEach([&](uint32_t slot, Connection& c) {
    if (c.state == ConnState::kOpen && c.send_in_flight &&
        now_ms - c.send_started_ms > kStalledMs) {
      sessions_->CloseSlowConsumer(c, slot);
    }
  });
}

// Feeds what arrived while paused, pausing again as soon as the publications
// in it fill the queues. Returns false when paused again.
bool Backpressure::ResumeDeferred(Connection& c, uint32_t slot) {
  DeferredInput& input = *c.deferred;
  input.Consume(FeedSlices(c, slot, input.Rest()));  // nothing appends to it meanwhile
  if (c.paused) return false;
  c.deferred.reset();
  return true;
}

void Backpressure::Feed(Connection& c, uint32_t slot, std::string_view input) {
  size_t fed = FeedSlices(c, slot, input);
  if (fed < input.size() && c.state == ConnState::kOpen) {
    if (!c.deferred) c.deferred = std::make_unique<DeferredInput>();
    c.deferred->Append(input.substr(fed));
  }
}

size_t Backpressure::FeedSlices(Connection& c, uint32_t slot, std::string_view input) {
  size_t pos = 0;
  while (pos < input.size() && c.state == ConnState::kOpen && !c.paused) {
    size_t n = std::min(kSliceBytes, input.size() - pos);
    sessions_->OnWebSocketBytes(c, slot, input.substr(pos, n));
    pos += n;
    if (c.published) AfterPublish(c, slot);
  }
  return pos;
}

}  // namespace ringcast::shard
