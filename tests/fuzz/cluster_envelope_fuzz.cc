// libFuzzer target for ClusterEnvelope::Decode: the bytes a node reads from
// its Redis subscriptions, which anyone with access to Redis can publish.
// Checked invariants: whatever Decode accepts encodes to bytes that decode
// to the same envelope; nothing is read past the input.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/check.h"
#include "shard/cluster_envelope.h"

using ringcast::shard::ClusterEnvelope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::optional<ClusterEnvelope> e = ClusterEnvelope::Decode(in);
  if (!e) return 0;
  std::string again;
  e->Encode(&again);
  std::optional<ClusterEnvelope> back = ClusterEnvelope::Decode(again);
  RC_CHECK(back.has_value());
  RC_CHECK(back->kind == e->kind && back->node == e->node && back->shard == e->shard &&
           back->to_shard == e->to_shard && back->conn == e->conn && back->ticket == e->ticket &&
           back->number == e->number && back->tag == e->tag && back->seq == e->seq &&
           back->echo == e->echo && back->refused == e->refused && back->room == e->room &&
           back->from == e->from && back->rid == e->rid && back->epoch == e->epoch &&
           back->data == e->data);
  return 0;
}
