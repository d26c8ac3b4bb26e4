// libFuzzer target for what cluster mode's data model reads from Redis:
// MOVED/ASK errors and endpoints (Redirect, RedisAddress), and the reply trees
// of CLUSTER SLOTS and of the history and presence scripts. hiredis parses RESP itself; what is
// ours is how its trees are read, so the fuzzer builds arbitrary trees (any type anywhere, any
// nesting up to depth 4) instead of RESP text. The first input byte picks
// the target:
//   0: Redirect  1: RedisAddress  2+: a reply tree for SlotMap (2),
//   ParsePublish (3), ParseRead (4), ParseChange (5), ParseList (6)
// Checked invariants: a redirect's slot is a slot and its port not 0; an
// address prints to text that parses back to it; a slot map names only real
// nodes; parsed script replies keep their documented bounds.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/check.h"
#include "core/crc16.h"
#include "shard/cluster_history.h"
#include "shard/cluster_presence.h"
#include "shard/cluster_redirect.h"
#include "shard/cluster_slot_map.h"

namespace {

using namespace ringcast::shard;

// Builds redisReply trees from fuzz bytes; owns every node and string.
class TreeBuilder {
 public:
  explicit TreeBuilder(std::string_view in) : in_(in) {}

  redisReply* Build(int depth) {
    redisReply& r = nodes_.emplace_back();
    r = redisReply{};
    const uint8_t kind = Byte();
    switch (kind % 6) {
      case 0:
        r.type = REDIS_REPLY_STRING;
        Text(&r);
        break;
      case 1:
        r.type = REDIS_REPLY_STATUS;
        Text(&r);
        break;
      case 2:
        r.type = REDIS_REPLY_ERROR;
        Text(&r);
        break;
      case 3:
        r.type = REDIS_REPLY_INTEGER;
        r.integer = Integer();
        break;
      case 4:
        r.type = REDIS_REPLY_NIL;
        break;
      default:
        r.type = REDIS_REPLY_ARRAY;
        if (depth < 4) {
          const size_t n = Byte() % 24;
          std::vector<redisReply*>& children = arrays_.emplace_back();
          for (size_t i = 0; i < n; ++i) children.push_back(Build(depth + 1));
          r.elements = children.size();
          r.element = children.data();
        }
        break;
    }
    return &r;
  }

 private:
  uint8_t Byte() {
    if (in_.empty()) return 4;  // nil once the input runs out
    const auto b = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return b;
  }
  long long Integer() {
    // Small values mostly, with the extremes reachable.
    const uint8_t b = Byte();
    if (b == 0xff) return INT64_MAX;
    if (b == 0xfe) return INT64_MIN;
    if (b >= 0x80) return static_cast<long long>(b) * 131 - 20000;
    return b;
  }
  void Text(redisReply* r) {
    const size_t n = std::min<size_t>(Byte(), in_.size());
    std::string& s = strings_.emplace_back(in_.substr(0, n));
    in_.remove_prefix(n);
    r->str = s.data();
    r->len = s.size();
  }

  std::string_view in_;
  std::deque<redisReply> nodes_;
  std::deque<std::string> strings_;
  std::deque<std::vector<redisReply*>> arrays_;
};

void FuzzTree(uint8_t target, std::string_view in) {
  TreeBuilder builder(in);
  const redisReply* r = builder.Build(0);
  switch (target) {
    case 2:
      if (auto map = SlotMap::FromClusterSlots(r)) {
        for (int slot = 0; slot < ringcast::core::kRedisSlots; slot += 97) {
          RC_CHECK(map->NodeOf(slot) < static_cast<int>(map->nodes().size()));
        }
      }
      break;
    case 3:
      if (auto p = ClusterHistory::ParsePublish(r)) RC_CHECK(p->seq > 0);
      break;
    case 4:
      if (auto h = ClusterHistory::ParseRead(r)) {
        for (const HistoryEntry& e : h->entries) RC_CHECK(e.seq > 0);
      }
      break;
    case 5:
      (void)ClusterPresence::ParseChange(r);
      if (auto changes = ClusterPresence::ParseChanges(r, 2)) RC_CHECK(changes->size() == 2);
      break;
    default:
      (void)ClusterPresence::ParseList(r);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t target = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (target % 7) {
    case 0:
      if (auto r = Redirect::Parse(in)) {
        RC_CHECK(r->slot >= 0 && r->slot < ringcast::core::kRedisSlots && r->to.port > 0);
      }
      break;
    case 1:
      if (auto a = RedisAddress::Parse(in)) RC_CHECK(RedisAddress::Parse(a->ToString()) == a);
      break;
    default:
      FuzzTree(target % 7, in);
      break;
  }
  return 0;
}
