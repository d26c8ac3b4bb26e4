// Cluster mode over a Redis Cluster (`--redis-cluster`) end to end: real
// ringcast nodes (the binary, 2 shards each) against a real cluster of three
// redis-server masters (tests/support/redis_process.h), driven by WebSocket
// clients. Sharded pub/sub on every master, history seqs from Redis, and a
// slot moved by a real migration while publications flow. Every wait is
// bounded; the fixtures kill what they started.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "shard/cluster_keys.h"
#include "shard/cluster_partitions.h"
#include "tests/support/cluster_nodes.h"
#include "tests/support/e2e_helpers.h"
#include "tests/support/redis_process.h"
#include "tests/support/server_fixture.h"
#include "tests/support/temp_file.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

constexpr char kHistoryToml[] = R"([namespaces.h]
history_size = 1000
)";

class RedisClusterE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.Start()) << cluster_.error(); }

  // `n` nodes on the cluster (2 shards each, tests/support/cluster_nodes.h),
  // each ready once every slot is covered by the three masters.
  void StartNodes(int n) {
    ClusterNodeOptions options(cluster_.Seeds(), config_.path(), {"--commands-per-second", "0"});
    options.cluster_masters = 3;
    options.redis_reply_timeout_ms = 1000;
    nodes_ = StartClusterNodes(n, options);
  }

  // The master serving `room` now.
  int OwnerOfRoom(const std::string& room) {
    return cluster_.OwnerOf(partitions_.slot(partitions_.Of(room)));
  }

  RedisCluster cluster_{3};
  TempFile config_{kHistoryToml};
  std::vector<std::unique_ptr<ClusterNode>> nodes_;
  shard::ClusterPartitions partitions_;
  shard::ClusterKeys keys_{&partitions_};
};

// The channels of `pattern` a master has subscribers for, by kind.
std::set<std::string> Channels(RedisSync& c, const std::string& kind) {
  std::set<std::string> out;
  RedisSync::Reply r = c.Command({"PUBSUB", kind, "rc:*"});
  if (!r || r->type != REDIS_REPLY_ARRAY) return out;
  for (size_t i = 0; i < r->elements; ++i) out.emplace(r->element[i]->str, r->element[i]->len);
  return out;
}

TEST_F(RedisClusterE2eTest, ShardedFanOutInManyRoomsIsExactOrderedAndOnEveryMaster) {
  StartNodes(2);
  constexpr int kRooms = 24;
  constexpr int kPer = 10;
  std::vector<std::string> rooms;
  std::set<int> owners;
  for (int r = 0; r < kRooms; ++r) {
    rooms.push_back("room" + std::to_string(r));
    owners.insert(OwnerOfRoom(rooms.back()));
  }
  ASSERT_EQ(owners, (std::set<int>{0, 1, 2})) << "the rooms should span every master";
  // Two subscribers per node (one per shard, by source address), in every room.
  std::vector<std::unique_ptr<WsClient>> subs;
  for (size_t n = 0; n < nodes_.size(); ++n) {
    for (size_t k = 0; k < 2; ++k) {
      subs.push_back(Connect(*nodes_[n], "s" + std::to_string(n) + std::to_string(k), 2 * n + k));
      for (int r = 0; r < kRooms; ++r) ASSERT_TRUE(Subscribe(*subs.back(), rooms[r], r + 1));
    }
  }
  // The node's room channels are sharded subscriptions on each room's own
  // master, one per node, and none is a plain SUBSCRIBE.
  for (int m = 0; m < 3; ++m) {
    RedisSync c(cluster_.node(m).port());
    std::set<std::string> sharded = Channels(c, "SHARDCHANNELS");
    EXPECT_TRUE(Channels(c, "CHANNELS").empty()) << "master " << m;
    int here = 0;
    for (const std::string& room : rooms) {
      const std::string channel = keys_.RoomChannel(room);
      const bool owner = OwnerOfRoom(room) == m;
      EXPECT_EQ(sharded.count(channel), owner ? 1u : 0u) << room << " on master " << m;
      if (!owner) continue;
      ++here;
      RedisSync::Reply n = c.Command({"PUBSUB", "SHARDNUMSUB", channel});
      ASSERT_TRUE(n && n->type == REDIS_REPLY_ARRAY && n->elements == 2);
      EXPECT_EQ(n->element[1]->integer, 2) << room << ": one subscription per node";
    }
    EXPECT_GT(here, 0) << "master " << m;
  }
  // One publisher per node, everything sent before any reply is read.
  std::vector<std::unique_ptr<WsClient>> pubs;
  for (size_t n = 0; n < nodes_.size(); ++n) {
    pubs.push_back(Connect(*nodes_[n], "p" + std::to_string(n), 10 + n));
  }
  for (int i = 0; i < kPer; ++i) {
    for (int r = 0; r < kRooms; ++r) {
      for (size_t n = 0; n < pubs.size(); ++n) {
        const uint64_t id = uint64_t(i) * kRooms + uint64_t(r) + 1;
        pubs[n]->SendText(
            PubCommand(rooms[r], "\"" + std::to_string(n) + "-" + std::to_string(i) + "\"", id));
      }
    }
  }
  for (auto& p : pubs) {
    for (uint64_t id = 1; id <= uint64_t(kPer) * kRooms; ++id) ASSERT_TRUE(NextIsOk(*p, id));
  }
  // Every subscriber gets every publication once; a room's order is one
  // order for all of them and keeps each publisher's order.
  const size_t total = size_t(kRooms) * kPer * pubs.size();
  std::map<std::string, std::vector<std::string>> first;
  for (size_t s = 0; s < subs.size(); ++s) {
    std::map<std::string, std::vector<std::string>> seen;
    for (size_t k = 0; k < total; ++k) {
      auto m = subs[s]->ReadMessage(kReadTimeoutMs);
      ASSERT_TRUE(m) << "subscriber " << s << " got " << k << " of " << total;
      ASSERT_EQ(JsonString(*m, "op"), "msg") << *m;
      seen[JsonString(*m, "room")].push_back(JsonString(*m, "data"));
    }
    ASSERT_EQ(seen.size(), size_t(kRooms));
    for (const auto& [room, data] : seen) {
      ASSERT_EQ(data.size(), size_t(kPer) * pubs.size()) << room;
      std::vector<int> next(pubs.size(), 0);
      for (const std::string& d : data) {
        const size_t n = std::stoul(d.substr(0, d.find('-')));
        ASSERT_LT(n, pubs.size());
        EXPECT_EQ(d, std::to_string(n) + "-" + std::to_string(next[n]++)) << room;
      }
    }
    if (s == 0) {
      first = seen;
    } else {
      EXPECT_EQ(seen, first) << "subscriber " << s;
    }
  }
  EXPECT_FALSE(subs[0]->ReadMessage(200)) << "nothing twice";
}

// Reads the `ok`s of ids 1..n (in any order) and returns their seqs.
std::vector<uint64_t> ReadPubOks(WsClient& c, uint64_t n) {
  std::vector<uint64_t> seqs(n + 1, 0);
  for (uint64_t i = 0; i < n; ++i) {
    auto m = c.ReadMessage(kReadTimeoutMs);
    if (!m || JsonString(*m, "op") != "ok") {
      ADD_FAILURE() << "expected an ok, got " << m.value_or("nothing");
      break;
    }
    const uint64_t id = JsonUint(*m, "id").value_or(0);
    if (id == 0 || id > n) {
      ADD_FAILURE() << "unexpected " << *m;
      break;
    }
    seqs[id] = JsonUint(*m, "seq").value_or(0);
  }
  return seqs;
}

TEST_F(RedisClusterE2eTest, HistoryPublicationsFromEveryNodeGetOneRunOfSeqsPerRoom) {
  StartNodes(2);
  const std::vector<std::string> rooms = {"h:a", "h:b", "h:c", "h:d", "h:e", "h:f"};
  std::set<int> owners;
  for (const std::string& room : rooms) owners.insert(OwnerOfRoom(room));
  EXPECT_GE(owners.size(), 2u) << "history rooms on more than one master";
  std::vector<std::unique_ptr<WsClient>> subs;
  for (size_t n = 0; n < nodes_.size(); ++n) {
    subs.push_back(Connect(*nodes_[n], "s" + std::to_string(n), n));
    for (size_t r = 0; r < rooms.size(); ++r) ASSERT_TRUE(Subscribe(*subs.back(), rooms[r], r + 1));
  }
  constexpr uint64_t kPer = 15;
  std::vector<std::unique_ptr<WsClient>> pubs;
  for (size_t n = 0; n < nodes_.size(); ++n) {
    pubs.push_back(Connect(*nodes_[n], "p" + std::to_string(n), 5 + n));
  }
  for (uint64_t i = 0; i < kPer; ++i) {
    for (size_t r = 0; r < rooms.size(); ++r) {
      for (auto& p : pubs) p->SendText(PubCommand(rooms[r], "1", i * rooms.size() + r + 1));
    }
  }
  // The oks' seqs: per room, 1..2*kPer once each over both publishers.
  std::map<std::string, std::set<uint64_t>> ok_seqs;
  for (auto& p : pubs) {
    std::vector<uint64_t> seqs = ReadPubOks(*p, kPer * rooms.size());
    for (uint64_t id = 1; id <= kPer * rooms.size(); ++id) {
      ok_seqs[rooms[(id - 1) % rooms.size()]].insert(seqs[id]);
    }
  }
  for (const std::string& room : rooms) {
    const std::set<uint64_t>& s = ok_seqs[room];
    ASSERT_EQ(s.size(), 2 * kPer) << room;
    EXPECT_EQ(*s.begin(), 1u) << room;
    EXPECT_EQ(*s.rbegin(), 2 * kPer) << room;
  }
  // Every subscriber on either node sees each room's seqs 1..2*kPer in order.
  for (auto& s : subs) {
    std::map<std::string, uint64_t> last;
    for (size_t k = 0; k < 2 * kPer * rooms.size(); ++k) {
      auto m = s->ReadMessage(kReadTimeoutMs);
      ASSERT_TRUE(m) << k;
      ASSERT_EQ(JsonString(*m, "op"), "msg") << *m;
      const std::string room = JsonString(*m, "room");
      EXPECT_EQ(JsonUint(*m, "seq"), last[room] + 1) << *m;
      last[room] = JsonUint(*m, "seq").value_or(0);
    }
  }
}

// A history subscriber that recovers on `gap` with a new connection and
// `since`, and counts every seq it was given.
class HistoryReader {
 public:
  HistoryReader(const ClusterNode& node, std::string room, size_t src)
      : node_(node), room_(std::move(room)), src_(src) {
    Join(std::nullopt);
  }
  // Reads until every seq up to `upto` came, recovering on gap. False on a
  // timeout.
  bool ReadUpTo(uint64_t upto) {
    while (last_ < upto) {
      auto m = client_->ReadMessage(kReadTimeoutMs);
      if (!m) return false;
      const std::string op = JsonString(*m, "op");
      if (op == "gap") {
        ++gaps_;
        Join(last_);
        continue;
      }
      if (op != "msg") {
        ADD_FAILURE() << "unexpected " << *m;
        return false;
      }
      Take(*m);
    }
    return true;
  }
  uint64_t gaps() const { return gaps_; }
  uint64_t recovered() const { return recovered_; }
  const std::vector<uint64_t>& seqs() const { return seqs_; }

 private:
  void Join(std::optional<uint64_t> since) {
    client_ = std::make_unique<WsClient>();
    ASSERT_TRUE(client_->Connect(node_.port(), "/ws?user=reader", SourceIp(src_)));
    ASSERT_TRUE(client_->ReadWelcome());
    std::string cmd = R"({"op":"sub","room":")" + room_ + R"(","id":1)";
    if (since) {
      cmd +=
          R"(,"since":{"seq":)" + std::to_string(*since) + R"(,"epoch":)" + JsonQuote(epoch_) + "}";
    }
    client_->SendText(cmd + "}");
    for (;;) {  // the replay, then the ok
      auto m = client_->ReadMessage(kReadTimeoutMs);
      ASSERT_TRUE(m);
      if (JsonString(*m, "op") == "msg") {
        Take(*m);
        continue;
      }
      ASSERT_EQ(JsonString(*m, "op"), "ok") << *m;
      if (since) {
        EXPECT_EQ(JsonString(*m, "epoch"), epoch_);
        EXPECT_EQ(JsonBool(*m, "recovered"), true) << *m;
        ++recovered_;
      }
      epoch_ = JsonString(*m, "epoch");
      if (!since) last_ = JsonUint(*m, "seq").value_or(0);
      return;
    }
  }
  void Take(const std::string& m) {
    const uint64_t seq = JsonUint(m, "seq").value_or(0);
    EXPECT_EQ(seq, last_ + 1) << m;
    last_ = seq;
    seqs_.push_back(seq);
  }

  const ClusterNode& node_;
  const std::string room_;
  const size_t src_;
  std::unique_ptr<WsClient> client_;
  std::string epoch_;
  uint64_t last_ = 0;
  uint64_t gaps_ = 0;
  uint64_t recovered_ = 0;
  std::vector<uint64_t> seqs_;
};

TEST_F(RedisClusterE2eTest, AMovedSlotDuringTrafficKeepsEveryRoomDelivering) {
  StartNodes(2);
  const std::string hroom = "h:busy";
  const std::string room = "busy";
  HistoryReader h0(*nodes_[0], hroom, 1);
  HistoryReader h1(*nodes_[1], hroom, 2);
  std::vector<std::unique_ptr<WsClient>> plain;
  for (size_t n = 0; n < nodes_.size(); ++n) {
    plain.push_back(Connect(*nodes_[n], "plain" + std::to_string(n), 3 + n));
    ASSERT_TRUE(Subscribe(*plain.back(), room, 1));
  }
  // One publisher on node 1 alternates the two rooms, each `pub` answered
  // before the next, until told to stop; every one must be accepted.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sent{0};
  std::vector<std::string> failures;
  auto pub = Connect(*nodes_[0], "pub", 7);
  std::thread thread([&] {
    for (uint64_t id = 1; !stop.load() || id <= 40; ++id) {
      pub->SendText(PubCommand(id % 2 == 1 ? hroom : room, std::to_string(id), id));
      auto m = pub->ReadMessage(kReadTimeoutMs);
      if (!m || JsonString(*m, "op") != "ok" || JsonUint(*m, "id") != id) {
        failures.push_back(m.value_or("no answer"));
        break;
      }
      sent.store(id);
      ::usleep(1000);
    }
  });
  // Joined on every way out of the test, a failed assertion included.
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop.store(true);
      if (thread.joinable()) thread.join();
    }
  } joiner{stop, thread};
  ASSERT_TRUE(WaitUntil([&] { return sent.load() >= 20; }, 10000));
  // Both rooms' partitions move to other masters while publications flow.
  const int slot = partitions_.slot(partitions_.Of(hroom));
  const int plain_slot = partitions_.slot(partitions_.Of(room));
  const int from = cluster_.OwnerOf(slot);
  ASSERT_TRUE(cluster_.MoveSlot(slot, (from + 1) % 3)) << cluster_.error();
  ASSERT_TRUE(cluster_.MoveSlot(plain_slot, (cluster_.OwnerOf(plain_slot) + 1) % 3))
      << cluster_.error();
  const uint64_t at_move = sent.load();
  ASSERT_TRUE(WaitUntil([&] { return sent.load() >= at_move + 40; }, 10000))
      << "publications stopped after the move at " << at_move;
  stop.store(true);
  thread.join();
  ASSERT_TRUE(failures.empty()) << failures.front();
  const uint64_t total = sent.load();
  EXPECT_EQ(cluster_.OwnerOf(slot), (from + 1) % 3);

  // History subscribers end with every seq once, in order; those that were
  // told `gap` recovered with recovered:true.
  const uint64_t hist_total = (total + 1) / 2;
  for (HistoryReader* h : {&h0, &h1}) {
    ASSERT_TRUE(h->ReadUpTo(hist_total)) << "got " << h->seqs().size();
    EXPECT_EQ(h->seqs().size(), hist_total);
    EXPECT_EQ(h->recovered(), h->gaps());
  }
  // The plain room: ids in order; a hole only right after a `gap`; and
  // everything published after the move arrives.
  for (auto& c : plain) {
    uint64_t last = 0;
    bool gap = false;
    while (last < total - (total % 2)) {
      auto m = c->ReadMessage(kReadTimeoutMs);
      ASSERT_TRUE(m) << "plain subscriber stopped at " << last << " of " << total;
      if (JsonString(*m, "op") == "gap") {
        gap = true;
        continue;
      }
      ASSERT_EQ(JsonString(*m, "op"), "msg") << *m;
      const uint64_t id = std::stoull(JsonField(*m, "data"));
      if (id != last + 2) {
        EXPECT_TRUE(gap) << "a hole from " << last << " to " << id << " without gap";
        EXPECT_LE(last, at_move + 40) << "a loss long after the move";
      }
      EXPECT_GT(id, last);
      gap = false;
      last = id;
    }
  }
  // The nodes followed the move: MOVED/ASK answers and moved subscriptions counted.
  EXPECT_GT(StatsTotal(nodes_[0]->port(), "redis_redirects").value_or(0), 0u);
  EXPECT_GT(StatsTotal(nodes_[1]->port(), "redis_redirects").value_or(0), 0u);
  for (auto& node : nodes_) EXPECT_TRUE(node->child.running());
}

// Half a migration: the room's keys are already on the target, so its
// history script is answered ASK, followed with ASKING on the target each
// time (the map keeps the old owner); the sharded channel stays with the
// source until the slot is handed over, and then subscribers recover what
// the target published meanwhile.
TEST_F(RedisClusterE2eTest, AskDuringAMigrationIsFollowedAndSubscribersRecover) {
  StartNodes(1);
  const std::string hroom = "h:ask";
  HistoryReader reader(*nodes_[0], hroom, 1);
  // A subscriber that stays through the hand-over: the room stays subscribed
  // on the node while the reader rejoins (as when the reader's leave reaches
  // the room's owner shard after its new join), so the rejoin must not wait
  // for the seqs the node missed.
  auto stays = Connect(*nodes_[0], "stays", 3);
  stays->SendText(R"({"op":"sub","room":")" + hroom + R"(","id":1})");
  auto stays_ok = stays->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(stays_ok);
  ASSERT_EQ(JsonString(*stays_ok, "op"), "ok") << *stays_ok;
  auto pub = Connect(*nodes_[0], "pub", 2);
  for (uint64_t id = 1; id <= 3; ++id) pub->SendText(PubCommand(hroom, std::to_string(id), id));
  EXPECT_EQ(ReadPubOks(*pub, 3), (std::vector<uint64_t>{0, 1, 2, 3}));
  ASSERT_TRUE(reader.ReadUpTo(3));
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    auto m = stays->ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m);
    EXPECT_EQ(JsonUint(*m, "seq"), seq) << *m;
  }

  const int slot = partitions_.slot(partitions_.Of(hroom));
  const int from = cluster_.OwnerOf(slot);
  const int to = (from + 1) % 3;
  RedisSync src(cluster_.node(from).port());
  RedisSync dst(cluster_.node(to).port());
  const std::string s = std::to_string(slot);
  const std::string to_id = dst.Text({"CLUSTER", "MYID"});
  ASSERT_EQ(dst.Text({"CLUSTER", "SETSLOT", s, "IMPORTING", src.Text({"CLUSTER", "MYID"})}), "OK");
  ASSERT_EQ(src.Text({"CLUSTER", "SETSLOT", s, "MIGRATING", to_id}), "OK");
  const shard::RoomKeys k = keys_.Room(hroom);
  // Every key of the slot, as a reshard moves them: the history's and the
  // presence's (the reader is a member).
  std::vector<std::string> migrate = {
      "MIGRATE", "127.0.0.1", std::to_string(cluster_.node(to).port()), "", "0", "5000", "KEYS"};
  RedisSync::Reply in_slot = src.Command({"CLUSTER", "GETKEYSINSLOT", s, "100"});
  ASSERT_TRUE(in_slot && in_slot->type == REDIS_REPLY_ARRAY);
  for (size_t i = 0; i < in_slot->elements; ++i) migrate.emplace_back(in_slot->element[i]->str);
  EXPECT_NE(std::find(migrate.begin(), migrate.end(), k.presence_users), migrate.end());
  ASSERT_EQ(src.Text(migrate), "OK");

  const uint64_t before = StatsTotal(nodes_[0]->port(), "redis_redirects").value_or(0);
  for (uint64_t id = 4; id <= 6; ++id) {
    pub->SendText(PubCommand(hroom, std::to_string(id), id));
    ASSERT_TRUE(NextIsOk(*pub, id));  // one at a time: each meets the ASK
  }
  EXPECT_GE(StatsTotal(nodes_[0]->port(), "redis_redirects").value_or(0), before + 3)
      << "an ASK leaves the map alone, so every publication is asked again";
  ASSERT_EQ(dst.Text({"ASKING"}), "OK");
  EXPECT_EQ(dst.Text({"HGET", k.meta, "seq"}), "6");

  // The hand-over: the target first, then the others. The source drops the
  // node's sharded subscription; the reader is told `gap` and recovers 4..6.
  for (int i : {to, from, 3 - to - from}) {
    RedisSync c(cluster_.node(i).port());
    ASSERT_EQ(c.Text({"CLUSTER", "SETSLOT", s, "NODE", to_id}), "OK");
  }
  ASSERT_TRUE(reader.ReadUpTo(6));
  EXPECT_EQ(reader.gaps(), 1u);
  EXPECT_EQ(reader.recovered(), 1u);
  pub->SendText(PubCommand(hroom, "7", 7));
  ASSERT_TRUE(NextIsOk(*pub, 7));
  ASSERT_TRUE(reader.ReadUpTo(7));
  EXPECT_EQ(reader.seqs(), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7}));
  // The one that stayed was told `gap` once, then gets 7 live: the node
  // starts its seqs afresh after the gap rather than calling 7 a second hole.
  auto gap = stays->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(gap);
  EXPECT_EQ(JsonString(*gap, "op"), "gap") << *gap;
  auto seven = stays->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(seven);
  EXPECT_EQ(JsonString(*seven, "op"), "msg") << *seven;
  EXPECT_EQ(JsonUint(*seven, "seq"), 7u) << *seven;
}

// A master SIGKILLed: its rooms are degraded (a history `pub` is refused, a
// plain one is delivered on this node only) while the other masters' rooms
// go on through Redis; once it is back (same port, same node file: it
// serves its slots again) its rooms are subscribed again and say `gap`.
TEST_F(RedisClusterE2eTest, AMasterThatGoesAwayMakesOnlyItsRoomsDegraded) {
  StartNodes(1);
  std::string down_room, up_room;
  const int victim = OwnerOfRoom("plain");
  for (int i = 0; i < 64 && (down_room.empty() || up_room.empty()); ++i) {
    const std::string room = "h:x" + std::to_string(i);
    (OwnerOfRoom(room) == victim ? down_room : up_room) = room;
  }
  ASSERT_FALSE(up_room.empty());
  ASSERT_FALSE(down_room.empty());
  auto sub = Connect(*nodes_[0], "sub", 1);
  ASSERT_TRUE(Subscribe(*sub, "plain", 1));
  auto pub = Connect(*nodes_[0], "pub", 2);
  uint64_t id = 0;
  auto publish = [&](const std::string& room) {
    pub->SendText(PubCommand(room, "1", ++id));
    return pub->ReadMessage(kReadTimeoutMs).value_or("");
  };
  ASSERT_EQ(JsonString(publish(down_room), "op"), "ok");

  cluster_.node(victim).Kill();
  ASSERT_TRUE(WaitUntil(
      [&] { return Healthz(nodes_[0]->port()).find("redis: degraded") != std::string::npos; },
      10000));
  const std::string refused = publish(down_room);
  EXPECT_EQ(JsonString(refused, "code"), "unavailable") << refused;
  // The other masters still take their rooms' publications (until the
  // cluster itself declares the slots lost: a 2 s node timeout here).
  const std::string other = publish(up_room);
  EXPECT_TRUE(JsonString(other, "op") == "ok" || JsonString(other, "code") == "unavailable")
      << other;
  EXPECT_TRUE(nodes_[0]->child.running());

  ASSERT_TRUE(cluster_.node(victim).Start()) << cluster_.node(victim).error();
  ASSERT_TRUE(WaitUntil([&] { return RedisClusterReady(nodes_[0]->port(), 3); }, 20000))
      << Healthz(nodes_[0]->port());
  // Publications to the master's rooms are taken again once the cluster agrees.
  ASSERT_TRUE(WaitUntil([&] { return JsonString(publish(down_room), "op") == "ok"; }, 20000));
  auto gap = sub->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(gap);
  EXPECT_EQ(JsonString(*gap, "op"), "gap") << *gap;
  pub->SendText(PubCommand("plain", "\"after\"", ++id));
  EXPECT_TRUE(NextIsOk(*pub, id));
  EXPECT_TRUE(IsMsg(sub->ReadMessage(kReadTimeoutMs), "plain", "pub", "\"after\""));
  EXPECT_TRUE(nodes_[0]->child.running());
}

// Presence over a Redis Cluster: each node's refresh calls hold only rooms of
// one partition (one slot), so members of rooms spread over the three
// masters reach Redis, and any node lists both nodes' users with one join each.
TEST_F(RedisClusterE2eTest, PresenceOfRoomsOnEveryMasterListsBothNodesUsers) {
  StartNodes(2);
  constexpr int kRooms = 12;
  std::string subs_a, subs_b;
  for (int r = 0; r < kRooms; ++r) {
    const std::string sub = R"({"op":"sub","room":"p)" + std::to_string(r) + R"(","id":)" +
                            std::to_string(r + 1) + "}\n";
    subs_a += sub;
    subs_b += sub;
  }
  auto watcher = Connect(*nodes_[0], "watcher", 1);
  watcher->SendText(R"({"op":"sub","room":"p0","presence":true,"id":100})");
  auto a = Connect(*nodes_[0], "a", 2);
  auto b = Connect(*nodes_[1], "b", 3);
  a->SendText(subs_a);  // every room in one round: several partitions at once
  b->SendText(subs_b);
  for (uint64_t id = 1; id <= kRooms; ++id) {
    ASSERT_TRUE(NextIsOk(*a, id));
    ASSERT_TRUE(NextIsOk(*b, id));
  }
  std::set<int> masters;
  for (int r = 0; r < kRooms; ++r) {
    const std::string room = "p" + std::to_string(r);
    masters.insert(OwnerOfRoom(room));
    std::string answer;
    EXPECT_TRUE(WaitUntil(
        [&] {
          b->SendText(R"({"op":"presence","room":")" + room + R"(","id":99})");
          answer = b->ReadMessage(kReadTimeoutMs).value_or("");
          return JsonUint(answer, "count") == uint64_t(r == 0 ? 3 : 2);
        },
        5000))
        << room << ": " << answer;
    RedisSync owner(cluster_.node(OwnerOfRoom(room)).port());
    EXPECT_EQ(owner.Text({"HLEN", keys_.Room(room).presence_users}), r == 0 ? "3" : "2") << room;
  }
  EXPECT_EQ(masters.size(), 3u) << "the rooms cover every master";
  std::set<std::string> joined;
  while (joined.size() < 3) {
    auto m = watcher->ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m) << joined.size() << " joins";
    if (JsonString(*m, "op") != "join") continue;
    EXPECT_TRUE(joined.insert(JsonString(*m, "user")).second) << "a second join: " << *m;
  }
  EXPECT_EQ(joined, (std::set<std::string>{"watcher", "a", "b"}));
}

}  // namespace
}  // namespace ringcast::testing
