#include "shard/cluster_presence.h"

#include "core/check.h"
#include "shard/cluster_reply.h"

namespace ringcast::shard {

namespace {

// Shared by the three scripts. KEYS: info, users, conns, expiry.
constexpr char kCommonLua[] = R"lua(
local info, users, conns, expiry = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
-- Drops one entry; returns its user and info when that was the user's last connection.
local function drop(entry)
  redis.call('ZREM', expiry, entry)
  local had = redis.call('HGET', conns, entry)
  if not had then return nil end
  redis.call('HDEL', conns, entry)
  local user = string.match(entry, '^(.*)\n[^\n]*$')
  if not user then return nil end
  if redis.call('HINCRBY', users, user, -tonumber(had)) <= 0 then
    local shown = redis.call('HGET', info, user) or ''
    redis.call('HDEL', users, user)
    redis.call('HDEL', info, user)
    return user, shown
  end
  return nil
end
local function purge(now, left, left_info)
  local gone = redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, 1000)
  for _, entry in ipairs(gone) do
    local user, shown = drop(entry)
    if user then
      left[#left + 1] = user
      left_info[#left_info + 1] = shown
    end
  end
end
)lua";

// ARGV: node, now ms, expire-at ms, key TTL ms, then user, conns, info triples.
constexpr char kRefreshLua[] = R"lua(
local joined, left, joined_info, left_info = {}, {}, {}, {}
for i = 5, #ARGV, 3 do
  local user, n = ARGV[i], tonumber(ARGV[i + 1])
  local entry = user .. '\n' .. ARGV[1]
  if n <= 0 then
    local gone, shown = drop(entry)
    if gone then
      left[#left + 1] = gone
      left_info[#left_info + 1] = shown
    end
  else
    local old = tonumber(redis.call('HGET', conns, entry) or '0')
    local total = redis.call('HINCRBY', users, user, n - old)
    if old == 0 and total == n then
      joined[#joined + 1] = user
      joined_info[#joined_info + 1] = ARGV[i + 2]
    end
    redis.call('HSET', conns, entry, n)
    redis.call('ZADD', expiry, ARGV[3], entry)
    redis.call('HSET', info, user, ARGV[i + 2])
  end
end
purge(ARGV[2], left, left_info)
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[4]) end
return {joined, left, joined_info, left_info}
)lua";

// ARGV: node, now ms, then users.
constexpr char kRemoveLua[] = R"lua(
local left, left_info = {}, {}
for i = 3, #ARGV do
  local gone, shown = drop(ARGV[i] .. '\n' .. ARGV[1])
  if gone then
    left[#left + 1] = gone
    left_info[#left_info + 1] = shown
  end
end
purge(ARGV[2], left, left_info)
return {{}, left, {}, left_info}
)lua";

// ARGV: now ms, limit. Returns {count, truncated, left, left info, user, conns, info, ...}.
constexpr char kListLua[] = R"lua(
local left, left_info = {}, {}
purge(ARGV[1], left, left_info)
local limit = tonumber(ARGV[2])
local count = redis.call('HLEN', users)
local out = {count, 0, left, left_info}
local listed, seen, cursor = 0, {}, '0'
repeat
  local page = redis.call('HSCAN', users, cursor, 'COUNT', 100)
  cursor = page[1]
  local kv = page[2]
  for i = 1, #kv, 2 do
    if listed < limit and not seen[kv[i]] then
      seen[kv[i]] = true
      listed = listed + 1
      out[#out + 1] = kv[i]
      out[#out + 1] = tonumber(kv[i + 1])
      out[#out + 1] = redis.call('HGET', info, kv[i]) or ''
    end
  end
until cursor == '0' or listed >= limit
if count > listed then out[2] = 1 end
return out
)lua";

std::string WithCommon(const char* body) { return std::string(kCommonLua) + body; }

std::vector<std::string> KeysOf(const RoomKeys& k) {
  return {k.presence_info, k.presence_users, k.presence_conns, k.presence_expiry};
}

std::optional<std::vector<std::string>> Strings(const redisReply* r) {
  if (!reply::IsArray(r)) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(reply::Size(r));
  for (size_t i = 0; i < reply::Size(r); ++i) {
    auto s = reply::String(reply::At(r, i));
    if (!s) return std::nullopt;
    out.emplace_back(*s);
  }
  return out;
}

}  // namespace

ClusterPresence::ClusterPresence()
    : refresh_(WithCommon(kRefreshLua)),
      remove_(WithCommon(kRemoveLua)),
      list_(WithCommon(kListLua)) {}

std::vector<std::string> ClusterPresence::Refresh(const RoomKeys& keys, std::string_view node,
                                                  uint64_t now_ms, uint64_t ttl_ms,
                                                  std::span<const PresenceMember> members) const {
  RC_CHECK(ttl_ms > 0);
  std::vector<std::string> args = {ClusterKeys::Escape(node), std::to_string(now_ms),
                                   std::to_string(now_ms + ttl_ms), std::to_string(2 * ttl_ms)};
  args.reserve(args.size() + 3 * members.size());
  for (const PresenceMember& m : members) {
    args.push_back(m.user);
    args.push_back(std::to_string(m.conns));
    args.push_back(m.info_json);
  }
  return refresh_.EvalSha(KeysOf(keys), args);
}

std::vector<std::string> ClusterPresence::Remove(const RoomKeys& keys, std::string_view node,
                                                 uint64_t now_ms,
                                                 std::span<const std::string> users) const {
  std::vector<std::string> args = {ClusterKeys::Escape(node), std::to_string(now_ms)};
  args.insert(args.end(), users.begin(), users.end());
  return remove_.EvalSha(KeysOf(keys), args);
}

std::optional<PresenceChange> ClusterPresence::ParseChange(const redisReply* r) {
  auto joined = Strings(reply::At(r, 0));
  auto left = Strings(reply::At(r, 1));
  auto joined_info = Strings(reply::At(r, 2));
  auto left_info = Strings(reply::At(r, 3));
  if (reply::Size(r) != 4 || !joined || !left || !joined_info || !left_info ||
      joined_info->size() != joined->size() || left_info->size() != left->size()) {
    return std::nullopt;
  }
  return PresenceChange{std::move(*joined), std::move(*left), std::move(*joined_info),
                        std::move(*left_info)};
}

std::vector<std::string> ClusterPresence::List(const RoomKeys& keys, uint64_t now_ms,
                                               uint32_t limit) const {
  RC_CHECK(limit >= 1);
  return list_.EvalSha(KeysOf(keys), {std::to_string(now_ms), std::to_string(limit)});
}

std::optional<PresenceList> ClusterPresence::ParseList(const redisReply* r) {
  auto count = reply::Integer(reply::At(r, 0));
  auto truncated = reply::Integer(reply::At(r, 1));
  auto left = Strings(reply::At(r, 2));
  auto left_info = Strings(reply::At(r, 3));
  const size_t n = reply::Size(r);
  if (n < 4 || (n - 4) % 3 != 0 || !count || *count < 0 || !truncated || !left || !left_info ||
      left_info->size() != left->size()) {
    return std::nullopt;
  }
  PresenceList out;
  out.count = static_cast<uint64_t>(*count);
  out.truncated = *truncated == 1;
  out.left = std::move(*left);
  out.left_info = std::move(*left_info);
  for (size_t i = 4; i < n; i += 3) {
    auto user = reply::String(reply::At(r, i));
    auto conns = reply::Integer(reply::At(r, i + 1));
    auto info = reply::String(reply::At(r, i + 2));
    if (!user || !conns || *conns < 0 || !info) return std::nullopt;
    out.users.push_back(
        PresenceMember{std::string(*user), static_cast<uint64_t>(*conns), std::string(*info)});
  }
  return out;
}

}  // namespace ringcast::shard
