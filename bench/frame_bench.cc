// Frame building (the once-per-publication cost at the owner shard) and frame
// reading (the per-message cost of client input).
#include <benchmark/benchmark.h>

#include <string>

#include "net/frame_reader.h"
#include "net/frame_writer.h"
#include "proto/envelope.h"
#include "shard/out_queue.h"

namespace {

using ringcast::core::SharedFrame;
using ringcast::net::FrameWriter;

void BM_Frame_BuildPublication(benchmark::State& state) {
  FrameWriter writer;
  std::string data = "\"" + std::string(static_cast<size_t>(state.range(0)), 'x') + "\"";
  std::string scratch;
  for (auto _ : state) {
    scratch.clear();
    ringcast::proto::WriteMsg(&scratch, "chat:42", std::nullopt, "user-123", data);
    SharedFrame* f = writer.Build(ringcast::wire::Opcode::kText, scratch, "chat:42");
    benchmark::DoNotOptimize(f->data());
    f->Unref();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(scratch.size()));
}
BENCHMARK(BM_Frame_BuildPublication)->Arg(64)->Arg(1024)->Arg(16384);

// Fan-out bookkeeping: one frame queued to N connections and sent.
void BM_Frame_FanOutQueue(benchmark::State& state) {
  FrameWriter writer;
  ringcast::shard::FramePools pools;
  const int n = static_cast<int>(state.range(0));
  std::vector<ringcast::shard::OutQueue> queues(static_cast<size_t>(n));
  for (auto _ : state) {
    SharedFrame* f = writer.Build(ringcast::wire::Opcode::kText, std::string(64, 'm'));
    ringcast::shard::LocalFrame* local = pools.Wrap(f);
    for (auto& q : queues) q.Push(&pools, local);
    pools.Unref(local);
    for (auto& q : queues) q.Consume(&pools, q.queued_bytes());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Frame_FanOutQueue)->Arg(1000);

// The overload shape: D publications fanned out to 1000 connections pile up,
// then every queue drains in 64-frame sends (gather the iovecs, consume).
void BM_Frame_DeepQueueDrain(benchmark::State& state) {
  FrameWriter writer;
  ringcast::shard::FramePools pools;
  const int depth = static_cast<int>(state.range(0));
  std::vector<ringcast::shard::OutQueue> queues(1000);
  iovec iov[64];
  for (auto _ : state) {
    for (int i = 0; i < depth; ++i) {
      SharedFrame* f = writer.Build(ringcast::wire::Opcode::kText, std::string(64, 'm'));
      ringcast::shard::LocalFrame* local = pools.Wrap(f);
      for (auto& q : queues) q.Push(&pools, local);
      pools.Unref(local);
    }
    bool more = true;
    while (more) {
      more = false;
      for (auto& q : queues) {
        if (q.empty()) continue;
        uint64_t bytes = 0;
        benchmark::DoNotOptimize(q.Gather(iov, 64, &bytes));
        q.Consume(&pools, bytes);
        more = more || !q.empty();
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * depth * 1000);
}
BENCHMARK(BM_Frame_DeepQueueDrain)->Arg(1000);

struct NullSink : ringcast::net::FrameSink {
  bool OnText(std::string_view m) override {
    benchmark::DoNotOptimize(m.data());
    return true;
  }
  bool OnPing(std::string_view) override { return true; }
  bool OnClose(uint16_t, std::string_view) override { return false; }
};

void BM_Frame_ReadClientMessages(benchmark::State& state) {
  const size_t len = static_cast<size_t>(state.range(0));
  std::string frame;
  frame.push_back(static_cast<char>(0x81));
  if (len < 126) {
    frame.push_back(static_cast<char>(0x80 | len));
  } else {
    frame.push_back(static_cast<char>(0x80 | 126));
    frame.push_back(static_cast<char>(len >> 8));
    frame.push_back(static_cast<char>(len & 0xff));
  }
  frame.append("\x01\x02\x03\x04");
  for (size_t i = 0; i < len; ++i) frame.push_back(static_cast<char>('a' ^ (1 + i % 4)));
  std::string batch;
  for (int i = 0; i < 64; ++i) batch += frame;
  ringcast::net::FrameReader reader(1 << 20);
  ringcast::net::WsReadState st;
  NullSink sink;
  uint16_t code = 0;
  for (auto _ : state) {
    auto r = reader.Feed(&st, batch, &sink, &code);
    benchmark::DoNotOptimize(r);
  }
  reader.Release(&st);
  state.SetItemsProcessed(state.iterations() * 64);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
}
BENCHMARK(BM_Frame_ReadClientMessages)->Arg(64)->Arg(1024);

}  // namespace
