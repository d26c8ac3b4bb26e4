// Micro-benchmarks for the native protocol: parsing client commands and
// writing the `msg` envelope that every publication is framed with once.
#include <benchmark/benchmark.h>

#include <string>

#include "proto/command.h"
#include "proto/envelope.h"

namespace ringcast::proto {
namespace {

void ParseLoop(benchmark::State& state, std::string_view json) {
  CommandParser parser;
  Command cmd;
  for (auto _ : state) {
    auto err = parser.Parse(json, &cmd);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(cmd.data.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
}

void BM_CommandParser_Pub(benchmark::State& state) {
  ParseLoop(state, R"({"op":"pub","room":"chat:42","data":{"text":"hello world","n":1},"id":7})");
}
BENCHMARK(BM_CommandParser_Pub);

void BM_CommandParser_Sub(benchmark::State& state) {
  ParseLoop(state, R"({"op":"sub","room":"chat:42","since":{"seq":1234,"epoch":"a1b2c3"},)"
                   R"("presence":true,"id":8})");
}
BENCHMARK(BM_CommandParser_Sub);

// A pub whose data is a JSON string of state.range(0) bytes.
void BM_CommandParser_PubLarge(benchmark::State& state) {
  const std::string json = R"({"op":"pub","room":"chat:42","data":")" +
                           std::string(static_cast<size_t>(state.range(0)), 'x') + R"(","id":7})";
  ParseLoop(state, json);
}
BENCHMARK(BM_CommandParser_PubLarge)->Arg(1024)->Arg(64 * 1024);

// data: a JSON object of exactly state.range(0) bytes.
void BM_Envelope_WriteMsg(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const std::string data = R"({"t":")" + std::string(size - 8, 'x') + R"("})";
  std::string out;
  out.reserve(size + 128);
  for (auto _ : state) {
    out.clear();
    WriteMsg(&out, "chat:42", 123456, "user-1234", data);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_Envelope_WriteMsg)->Arg(64)->Arg(1024);

}  // namespace
}  // namespace ringcast::proto
