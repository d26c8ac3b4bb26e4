#include "shard/cluster_redirect.h"

#include "shard/cluster_reply.h"

namespace ringcast::shard {

std::optional<Redirect> Redirect::Parse(std::string_view error) {
  Redirect out;
  if (error.starts_with("MOVED ")) {
    out.kind = Kind::kMoved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    out.kind = Kind::kAsk;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto slot = reply::ParseInt(error.substr(0, space));
  auto to = RedisAddress::Parse(error.substr(space + 1));
  if (!slot || *slot < 0 || *slot >= core::kRedisSlots || !to) return std::nullopt;
  out.slot = static_cast<int>(*slot);
  out.to = std::move(*to);
  return out;
}

std::optional<Redirect> Redirect::FromReply(const redisReply* r) {
  auto error = reply::Error(r);
  if (!error) return std::nullopt;
  return Parse(*error);
}

}  // namespace ringcast::shard
