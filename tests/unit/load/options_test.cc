// ringcast-load's command line: several --url nodes (repeated or comma lists), the publisher
// and subscriber node lists, --spread, several --server-pid and --rcvbuf, and the one-line errors
// a bad combination gets.
#include "tools/load/options.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringcast::load {
namespace {

// Parses `args` (after the program name); returns the error, or "" on success.
std::string Parse(const std::vector<const char*>& args, LoadOptions* o) {
  std::vector<std::string> storage{"ringcast-load"};
  for (const char* a : args) storage.emplace_back(a);
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  bool help = false;
  auto err = ParseLoadArgs(static_cast<int>(argv.size()), argv.data(), o, &help);
  return err.value_or("");
}

uint16_t Port(const Node& n) { return ntohs(n.addr.sin_port); }

TEST(LoadOptionsTest, NoUrlMeansTheDefaultNode) {
  LoadOptions o;
  ASSERT_EQ(Parse({"fanout"}, &o), "");
  ASSERT_EQ(o.nodes.size(), 1u);
  EXPECT_EQ(o.nodes[0].url, "ws://127.0.0.1:8080/ws");
  EXPECT_EQ(o.nodes[0].host, "127.0.0.1:8080");
  EXPECT_EQ(o.nodes[0].path, "/ws");
  EXPECT_TRUE(o.nodes[0].IsLoopback());
}

TEST(LoadOptionsTest, RepeatedAndCommaListedUrlsKeepTheirOrder) {
  LoadOptions o;
  ASSERT_EQ(Parse({"fanout", "--url", "ws://127.0.0.1:9001/ws,ws://localhost:9002/a?x=1", "--url",
                   "ws://10.1.2.3:9003"},
                  &o),
            "");
  ASSERT_EQ(o.nodes.size(), 3u);
  EXPECT_EQ(Port(o.nodes[0]), 9001);
  EXPECT_EQ(Port(o.nodes[1]), 9002);
  EXPECT_EQ(o.nodes[1].path, "/a?x=1");
  EXPECT_EQ(o.nodes[1].host, "localhost:9002");
  EXPECT_EQ(Port(o.nodes[2]), 9003);
  EXPECT_EQ(o.nodes[2].path, "/");
  EXPECT_FALSE(o.nodes[2].IsLoopback());
  EXPECT_EQ(o.UrlList(), "ws://127.0.0.1:9001/ws,ws://localhost:9002/a?x=1,ws://10.1.2.3:9003");
}

TEST(LoadOptionsTest, NodeListsAreOneBasedPositions) {
  LoadOptions o;
  ASSERT_EQ(Parse({"fanout", "--url", "ws://127.0.0.1:1/ws,ws://127.0.0.1:2/ws,ws://127.0.0.1:3/ws",
                   "--pub-nodes", "1", "--sub-nodes", "3,2"},
                  &o),
            "");
  EXPECT_EQ(o.pub_nodes, std::vector<uint32_t>{0});
  EXPECT_EQ(o.sub_nodes, (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(o.spread, Spread::kConn);
}

TEST(LoadOptionsTest, SpreadRoomIsAccepted) {
  LoadOptions o;
  ASSERT_EQ(
      Parse({"fanout", "--url", "ws://127.0.0.1:1/ws,ws://127.0.0.1:2/ws", "--spread", "room"}, &o),
      "");
  EXPECT_EQ(o.spread, Spread::kRoom);
}

TEST(LoadOptionsTest, SeveralServerPidsAreKept) {
  LoadOptions o;
  ASSERT_EQ(Parse({"fanout", "--server-pid", "11,12", "--server-pid", "13"}, &o), "");
  EXPECT_EQ(o.server_pids, (std::vector<int>{11, 12, 13}));
}

TEST(LoadOptionsTest, ReceiveBufferIsTheKernelsUnlessGiven) {
  LoadOptions o;
  ASSERT_EQ(Parse({"fanout"}, &o), "");
  EXPECT_EQ(o.rcvbuf, 0u) << "autotuning";
  ASSERT_EQ(Parse({"fanout", "--rcvbuf", "262144"}, &o), "");
  EXPECT_EQ(o.rcvbuf, 262144u);
}

struct BadCase {
  std::vector<const char*> args;
  const char* says;  // a piece of the error line
};

TEST(LoadOptionsTest, BadNodeArgumentsAreOneClearLine) {
  const char* two = "ws://127.0.0.1:1/ws,ws://127.0.0.1:2/ws";
  const std::vector<BadCase> cases = {
      {{"fanout", "--url", two, "--pub-nodes", "3"}, "has 2 node(s)"},
      {{"fanout", "--url", two, "--sub-nodes", "0"}, "numbered from 1"},
      {{"fanout", "--url", two, "--sub-nodes", "1,1"}, "twice"},
      {{"fanout", "--url", two, "--sub-nodes", "1,"}, "bad list"},
      {{"fanout", "--url", "ws://127.0.0.1:1/ws,,ws://127.0.0.1:2/ws"}, "bad value"},
      {{"fanout", "--url", "ws://127.0.0.1:1/ws,http://127.0.0.1:2/ws"}, "ws://"},
      {{"fanout", "--url", "ws://127.0.0.1:1/ws,ws://nohost:2/ws"}, "ws://nohost:2/ws"},
      {{"direct", "--url", two, "--pub-nodes", "1"}, "fanout scenario only"},
      {{"idle", "--url", two, "--spread", "room"}, "fanout scenario only"},
      {{"fanout", "--url", two, "--spread", "room", "--sub-nodes", "2"}, "cannot be combined"},
      {{"fanout", "--spread", "shard"}, "bad value"},
      {{"fanout", "--server-pid", "1,x"}, "bad value"},
      {{"fanout", "--rcvbuf", "64k"}, "bad value"},
      {{"fanout", "--rcvbuf", "4294967296"}, "bad value"},
  };
  for (const BadCase& c : cases) {
    LoadOptions o;
    const std::string err = Parse(c.args, &o);
    ASSERT_FALSE(err.empty()) << c.args[1] << " " << c.args[2] << " was accepted";
    EXPECT_NE(err.find(c.says), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace ringcast::load
