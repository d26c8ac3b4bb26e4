#include "shard/cluster_presence.h"

#include "core/check.h"
#include "shard/cluster_reply.h"

namespace ringcast::shard {

namespace {

// Shared by the three scripts. KEYS: info, users, conns, expiry (Refresh:
// of each room in turn; the functions see the room being worked on).
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

// ARGV: node, now ms, expire-at ms, key TTL ms, then per room (its four KEYS
// in order): its number of members m, then m user, conns, info triples.
// Returns per room {joined, left, joined info, left info}.
constexpr char kRefreshLua[] = R"lua(
local out, at = {}, 5
for r = 1, #KEYS / 4 do
  local b = 4 * (r - 1)
  info, users, conns, expiry = KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4]
  local joined, left, joined_info, left_info = {}, {}, {}, {}
  local last = at + 3 * tonumber(ARGV[at])
  for i = at + 1, last, 3 do
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
  at = last + 1
  purge(ARGV[2], left, left_info)
  for j = b + 1, b + 4 do redis.call('PEXPIRE', KEYS[j], ARGV[4]) end
  out[r] = {joined, left, joined_info, left_info}
end
return out
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
  const PresenceRoomUpdate one{&keys, members};
  return RefreshRooms({&one, 1}, node, now_ms, ttl_ms);
}

std::vector<std::string> ClusterPresence::RefreshRooms(std::span<const PresenceRoomUpdate> rooms,
                                                       std::string_view node, uint64_t now_ms,
                                                       uint64_t ttl_ms) const {
  RC_CHECK(ttl_ms > 0 && !rooms.empty());
  std::vector<std::string> keys;
  keys.reserve(4 * rooms.size());
  std::vector<std::string> args = {ClusterKeys::Escape(node), std::to_string(now_ms),
                                   std::to_string(now_ms + ttl_ms), std::to_string(2 * ttl_ms)};
  for (const PresenceRoomUpdate& room : rooms) {
    for (std::string& key : KeysOf(*room.keys)) keys.push_back(std::move(key));
    args.push_back(std::to_string(room.members.size()));
    for (const PresenceMember& m : room.members) {
      args.push_back(m.user);
      args.push_back(std::to_string(m.conns));
      args.push_back(m.info_json);
    }
  }
  return refresh_.EvalSha(keys, args);
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

std::optional<std::vector<PresenceChange>> ClusterPresence::ParseChanges(const redisReply* r,
                                                                         size_t rooms) {
  if (!reply::IsArray(r) || reply::Size(r) != rooms) return std::nullopt;
  std::vector<PresenceChange> out;
  out.reserve(rooms);
  for (size_t i = 0; i < rooms; ++i) {
    std::optional<PresenceChange> change = ParseChange(reply::At(r, i));
    if (!change) return std::nullopt;
    out.push_back(std::move(*change));
  }
  return out;
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
