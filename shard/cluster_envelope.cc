#include "shard/cluster_envelope.h"

#include <charconv>

namespace ringcast::shard {

namespace {

constexpr std::string_view kMagic = "rc1 ";
constexpr size_t kMaxNodeBytes = 64;

void PutNumber(std::string* out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
  out->push_back(' ');
}

void PutString(std::string* out, std::string_view s) {
  out->append(std::to_string(s.size()));
  out->push_back(':');
  out->append(s);
}

// A cursor over the input; every read is bounds-checked.
struct Reader {
  std::string_view in;
  bool ok = true;

  template <class T>
  T Number(char end) {
    T v{};
    auto [p, ec] = std::from_chars(in.data(), in.data() + in.size(), v);
    if (ec != std::errc() || p == in.data() + in.size() || *p != end) {
      ok = false;
      return T{};
    }
    in.remove_prefix(static_cast<size_t>(p - in.data()) + 1);
    return v;
  }
  std::string Word(char end, size_t max) {
    size_t n = in.find(end);
    if (n == std::string_view::npos || n == 0 || n > max) {
      ok = false;
      return {};
    }
    std::string w(in.substr(0, n));
    in.remove_prefix(n + 1);
    return w;
  }
  std::string String() {
    size_t n = Number<size_t>(':');
    if (!ok || n > in.size()) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

bool KnownKind(char k) {
  switch (static_cast<ClusterEnvelope::Kind>(k)) {
    case ClusterEnvelope::Kind::kPub:
    case ClusterEnvelope::Kind::kDirect:
    case ClusterEnvelope::Kind::kReq:
    case ClusterEnvelope::Kind::kAnnounce:
    case ClusterEnvelope::Kind::kDisconnect:
    case ClusterEnvelope::Kind::kRes:
    case ClusterEnvelope::Kind::kResAck:
    case ClusterEnvelope::Kind::kProbe:
      return true;
  }
  return false;
}

}  // namespace

void ClusterEnvelope::Encode(std::string* out) const {
  out->clear();
  out->append(kMagic);
  out->push_back(static_cast<char>(kind));
  out->push_back(' ');
  out->append(node);
  out->push_back(' ');
  PutNumber(out, shard);
  PutNumber(out, to_shard);
  PutNumber(out, conn.slot);
  PutNumber(out, conn.gen);
  PutNumber(out, ticket);
  PutNumber(out, number);
  PutNumber(out, tag);
  PutNumber(out, seq);
  out->push_back(static_cast<char>('0' + (echo ? 1 : 0) + (refused ? 2 : 0)));
  out->push_back('\n');
  PutString(out, room);
  PutString(out, from);
  PutString(out, rid);
  PutString(out, epoch);
  out->append(data);
}

std::optional<ClusterEnvelope> ClusterEnvelope::Decode(std::string_view in) {
  if (!in.starts_with(kMagic) || in.size() < kMagic.size() + 2) return std::nullopt;
  in.remove_prefix(kMagic.size());
  ClusterEnvelope e;
  if (!KnownKind(in[0]) || in[1] != ' ') return std::nullopt;
  e.kind = static_cast<Kind>(in[0]);
  Reader r{in.substr(2)};
  e.node = r.Word(' ', kMaxNodeBytes);
  e.shard = r.Number<uint32_t>(' ');
  e.to_shard = r.Number<uint32_t>(' ');
  e.conn.slot = r.Number<uint32_t>(' ');
  e.conn.gen = r.Number<uint32_t>(' ');
  e.ticket = r.Number<uint32_t>(' ');
  e.number = r.Number<uint32_t>(' ');
  e.tag = r.Number<uint64_t>(' ');
  e.seq = r.Number<uint64_t>(' ');
  if (!r.ok || r.in.size() < 2 || r.in[0] < '0' || r.in[0] > '3' || r.in[1] != '\n') {
    return std::nullopt;
  }
  e.echo = ((r.in[0] - '0') & 1) != 0;
  e.refused = ((r.in[0] - '0') & 2) != 0;
  r.in.remove_prefix(2);
  e.room = r.String();
  e.from = r.String();
  e.rid = r.String();
  e.epoch = r.String();
  if (!r.ok) return std::nullopt;
  e.data = std::string(r.in);
  return e;
}

}  // namespace ringcast::shard
