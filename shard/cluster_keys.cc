#include "shard/cluster_keys.h"

#include "core/check.h"

namespace ringcast::shard {

namespace {

bool NeedsEscape(unsigned char byte) {
  return byte == '%' || byte == '{' || byte == '}' || byte == ' ' || byte < 0x20 || byte == 0x7f;
}

}  // namespace

ClusterKeys::ClusterKeys(const ClusterPartitions* partitions, std::string_view prefix)
    : partitions_(partitions), prefix_(prefix) {
  RC_CHECK(partitions_ != nullptr);
  RC_CHECK(!prefix_.empty() && Escape(prefix_) == prefix_);
}

void ClusterKeys::AppendEscaped(std::string* out, std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : name) {
    const auto byte = static_cast<unsigned char>(ch);
    if (!NeedsEscape(byte)) {
      out->push_back(ch);
      continue;
    }
    out->push_back('%');
    out->push_back(kHex[byte >> 4]);
    out->push_back(kHex[byte & 0xf]);
  }
}

std::string ClusterKeys::Escape(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  AppendEscaped(&out, name);
  return out;
}

std::string ClusterKeys::PersonalRoom(std::string_view user) {
  std::string room = "@";
  room.append(user);
  return room;
}

std::string ClusterKeys::Key(std::string_view room, std::string_view kind) const {
  const std::string& tag = partitions_->tag(partitions_->Of(room));
  std::string key;
  key.reserve(prefix_.size() + tag.size() + kind.size() + room.size() + 8);
  key.append(prefix_).append(":{").append(tag).append("}:").append(kind).push_back(':');
  AppendEscaped(&key, room);
  return key;
}

RoomKeys ClusterKeys::Room(std::string_view room) const {
  return RoomKeys{Key(room, "c"),  Key(room, "m"),  Key(room, "h"), Key(room, "pi"),
                  Key(room, "pu"), Key(room, "pc"), Key(room, "pe")};
}

std::string ClusterKeys::RoomChannel(std::string_view room) const { return Key(room, "c"); }

std::string ClusterKeys::ControlChannel() const { return prefix_ + ":{ctl}:control"; }

std::string ClusterKeys::NodeChannel(std::string_view node_id) const {
  std::string channel = prefix_ + ":{n.";
  AppendEscaped(&channel, node_id);
  channel.append("}:node");
  return channel;
}

}  // namespace ringcast::shard
