#include "shard/cluster_history.h"

#include <cstdio>

#include "core/check.h"
#include "proto/envelope.h"
#include "shard/cluster_reply.h"

namespace ringcast::shard {

namespace {

// KEYS: meta, stream. ARGV: candidate epoch, max messages, entry TTL ms, meta
// TTL ms, now ms, publish command, channel, envelope prefix, suffix, then
// (kind, text) pairs of the channel message (MessagePart).
constexpr char kPublishLua[] = R"lua(
local meta, stream = KEYS[1], KEYS[2]
local function new_epoch()
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', ARGV[1], 'seq', 0)
  return ARGV[1]
end
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then epoch = new_epoch() end
local seq = redis.call('HINCRBY', meta, 'seq', 1)
local text = string.format('%d', seq)
local msg = ARGV[8] .. text .. ARGV[9]
local added = redis.pcall('XADD', stream, 'MAXLEN', ARGV[2], text .. '-0', 't', ARGV[5], 'm', msg)
if type(added) == 'table' and added.err then
  -- The stream holds a larger id than the meta's seq: it outlived its meta.
  epoch = new_epoch()
  seq = redis.call('HINCRBY', meta, 'seq', 1)
  text = string.format('%d', seq)
  msg = ARGV[8] .. text .. ARGV[9]
  redis.call('XADD', stream, 'MAXLEN', ARGV[2], text .. '-0', 't', ARGV[5], 'm', msg)
end
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', stream, ARGV[3]) end
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', meta, ARGV[4]) end
local parts = {}
for i = 10, #ARGV, 2 do
  local kind = ARGV[i]
  if kind == 'q' then parts[#parts + 1] = text
  elseif kind == 'e' then parts[#parts + 1] = epoch
  elseif kind == 'E' then parts[#parts + 1] = string.len(epoch) .. ':' .. epoch
  else parts[#parts + 1] = ARGV[i + 1] end
end
redis.call(ARGV[6], ARGV[7], table.concat(parts))
return {seq, epoch}
)lua";

// KEYS: meta, stream. ARGV: candidate epoch, max messages, entry TTL ms, meta
// TTL ms, now ms, "1" when the client names a since, its epoch, its seq.
// Returns {epoch, seq, recovered 0/1, seq1, envelope1, seq2, envelope2, ...}.
constexpr char kReadLua[] = R"lua(
local meta, stream = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'epoch')
local seq = 0
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', epoch, 'seq', 0)
  if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', meta, ARGV[4]) end
else
  seq = tonumber(redis.call('HGET', meta, 'seq')) or 0
end
if ARGV[6] ~= '1' or ARGV[7] ~= epoch then return {epoch, seq, 0} end
local since = tonumber(ARGV[8])
if not since or since >= seq then
  if since == seq then return {epoch, seq, 1} end
  return {epoch, seq, 0}
end
local cutoff = -1
if tonumber(ARGV[3]) > 0 then cutoff = tonumber(ARGV[5]) - tonumber(ARGV[3]) end
local out = {epoch, seq, 0}
local expect = since + 1
local complete = 1
local entries = redis.call('XRANGE', stream, string.format('%d-0', since + 1), '+',
                           'COUNT', ARGV[2])
for _, e in ipairs(entries) do
  local s = tonumber(string.match(e[1], '^(%d+)-'))
  local t, m
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == 't' then t = tonumber(f[i + 1]) elseif f[i] == 'm' then m = f[i + 1] end
  end
  if s and m and t and t > cutoff then
    if s ~= expect then complete = 0 end
    expect = s + 1
    out[#out + 1] = s
    out[#out + 1] = m
  else
    complete = 0
  end
end
if expect ~= seq + 1 then complete = 0 end
out[3] = complete
return out
)lua";

// What WriteMsg puts after the seq when `from` is "" and data is 0.
constexpr std::string_view kProbeTail = R"(0,"from":"","data":0})";

}  // namespace

MsgAroundSeq SplitMsgAtSeq(std::string_view room, std::string_view from,
                           std::string_view data_json) {
  // Fields come in a fixed order (proto/envelope.h): the seq sits right after
  // the room, so a probe with a known tail tells where it starts.
  std::string probe;
  proto::WriteMsg(&probe, room, uint64_t{0}, "", "0");
  RC_CHECK(probe.ends_with(kProbeTail));
  const size_t at = probe.size() - kProbeTail.size();
  std::string full;
  proto::WriteMsg(&full, room, uint64_t{0}, from, data_json);
  RC_CHECK(full.compare(0, at + 1, probe, 0, at + 1) == 0);
  MsgAroundSeq out;
  out.prefix = full.substr(0, at);
  out.suffix = full.substr(at + 1);  // after the "0"
  return out;
}

ClusterHistory::ClusterHistory() : publish_(kPublishLua), read_(kReadLua) {}

std::vector<std::string> ClusterHistory::Publish(const RoomKeys& keys,
                                                 const HistorySettings& settings,
                                                 std::string_view candidate_epoch, uint64_t now_ms,
                                                 bool sharded, const MsgAroundSeq& msg,
                                                 std::span<const MessagePart> message) const {
  RC_CHECK(settings.max_messages > 0 && !candidate_epoch.empty());
  std::vector<std::string> args = {std::string(candidate_epoch),
                                   std::to_string(settings.max_messages),
                                   std::to_string(settings.entry_ttl_ms),
                                   std::to_string(settings.meta_ttl_ms),
                                   std::to_string(now_ms),
                                   sharded ? "SPUBLISH" : "PUBLISH",
                                   keys.channel,
                                   msg.prefix,
                                   msg.suffix};
  args.reserve(args.size() + 2 * message.size());
  for (const MessagePart& part : message) {
    args.emplace_back(1, static_cast<char>(part.kind));
    args.push_back(part.kind == MessagePart::Kind::kText ? part.text : std::string());
  }
  return publish_.EvalSha({keys.meta, keys.stream}, args);
}

std::string RenderMessage(std::span<const MessagePart> parts, uint64_t seq,
                          std::string_view epoch) {
  std::string out;
  for (const MessagePart& part : parts) {
    switch (part.kind) {
      case MessagePart::Kind::kText:
        out.append(part.text);
        break;
      case MessagePart::Kind::kSeq:
        out.append(std::to_string(seq));
        break;
      case MessagePart::Kind::kEpoch:
        out.append(epoch);
        break;
      case MessagePart::Kind::kEpochPrefixed:
        out.append(std::to_string(epoch.size())).push_back(':');
        out.append(epoch);
        break;
    }
  }
  return out;
}

std::optional<PublishedSeq> ClusterHistory::ParsePublish(const redisReply* r) {
  auto seq = reply::Integer(reply::At(r, 0));
  auto epoch = reply::String(reply::At(r, 1));
  if (reply::Size(r) != 2 || !seq || *seq <= 0 || !epoch) return std::nullopt;
  return PublishedSeq{static_cast<uint64_t>(*seq), std::string(*epoch)};
}

std::vector<std::string> ClusterHistory::Read(const RoomKeys& keys, const HistorySettings& settings,
                                              std::string_view candidate_epoch, uint64_t now_ms,
                                              std::optional<Since> since) const {
  RC_CHECK(settings.max_messages > 0 && !candidate_epoch.empty());
  return read_.EvalSha(
      {keys.meta, keys.stream},
      {std::string(candidate_epoch), std::to_string(settings.max_messages),
       std::to_string(settings.entry_ttl_ms), std::to_string(settings.meta_ttl_ms),
       std::to_string(now_ms), since ? "1" : "0", since ? std::string(since->epoch) : "",
       since ? std::to_string(since->seq) : "0"});
}

std::optional<HistoryRead> ClusterHistory::ParseRead(const redisReply* r) {
  auto epoch = reply::String(reply::At(r, 0));
  auto seq = reply::Integer(reply::At(r, 1));
  auto recovered = reply::Integer(reply::At(r, 2));
  const size_t n = reply::Size(r);
  if (n < 3 || (n - 3) % 2 != 0 || !epoch || !seq || *seq < 0 || !recovered) return std::nullopt;
  HistoryRead out;
  out.epoch = std::string(*epoch);
  out.seq = static_cast<uint64_t>(*seq);
  out.recovered = *recovered == 1;
  out.entries.reserve((n - 3) / 2);
  for (size_t i = 3; i < n; i += 2) {
    auto entry_seq = reply::Integer(reply::At(r, i));
    auto envelope = reply::String(reply::At(r, i + 1));
    if (!entry_seq || *entry_seq <= 0 || !envelope) return std::nullopt;
    out.entries.push_back(HistoryEntry{static_cast<uint64_t>(*entry_seq), std::string(*envelope)});
  }
  return out;
}

std::string ClusterHistory::NewEpoch(uint64_t random_bits) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(random_bits));
  return text;
}

}  // namespace ringcast::shard
