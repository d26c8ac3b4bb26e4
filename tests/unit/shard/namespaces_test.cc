#include "shard/namespaces.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace ringcast::shard {
namespace {

std::map<std::string, NamespaceOptions> Tables() {
  return {
      {"default", NamespaceOptions{5, 0, true, true}},
      {"chat", NamespaceOptions{100, 60, true, false}},
      {"feed", NamespaceOptions{0, 0, false, true}},
  };
}

TEST(NamespacesTest, PrefixBeforeFirstColonNamesTheNamespace) {
  Namespaces ns(Tables());
  EXPECT_EQ(ns.Of("chat:lobby").history_size, 100u);
  EXPECT_EQ(ns.Of("chat:lobby").history_ttl_s, 60u);
  EXPECT_FALSE(ns.Of("chat:lobby").client_publish);
  EXPECT_EQ(ns.Of("chat:a:b").history_size, 100u);  // only the first ':' counts
  EXPECT_FALSE(ns.Of("feed:x").presence);
  EXPECT_TRUE(ns.KeepsHistory("chat:lobby"));
  EXPECT_FALSE(ns.KeepsHistory("feed:x"));
}

TEST(NamespacesTest, RoomsWithoutKnownPrefixUseDefault) {
  Namespaces ns(Tables());
  for (const char* room : {"lobby", "other:x", "chatroom", "chat", ":x", ""}) {
    SCOPED_TRACE(room);
    EXPECT_EQ(ns.Of(room).history_size, 5u);
    EXPECT_TRUE(ns.Of(room).client_publish);
  }
  EXPECT_TRUE(ns.KeepsHistory("lobby"));
}

TEST(NamespacesTest, WithoutDefaultTableBuiltInDefaultsApply) {
  Namespaces ns({{"chat", NamespaceOptions{100, 0, false, false}}});
  const NamespaceOptions& o = ns.Of("lobby");
  EXPECT_EQ(o.history_size, 0u);
  EXPECT_EQ(o.history_ttl_s, 0u);
  EXPECT_TRUE(o.presence);
  EXPECT_TRUE(o.client_publish);
  EXPECT_FALSE(ns.KeepsHistory("lobby"));
  EXPECT_TRUE(ns.KeepsHistory("chat:x"));
}

TEST(NamespacesTest, PersonalRoomsNeverKeepHistoryOrPresence) {
  // Even a table named after the '@' prefix, and a default with history,
  // leave personal rooms without history and presence.
  auto tables = Tables();
  tables["@alice"] = NamespaceOptions{50, 0, true, true};
  Namespaces ns(tables);
  for (const char* room : {"@alice", "@alice:x", "@", "@chat:lobby"}) {
    SCOPED_TRACE(room);
    EXPECT_EQ(ns.Of(room).history_size, 0u);
    EXPECT_FALSE(ns.Of(room).presence);
    EXPECT_FALSE(ns.KeepsHistory(room));
  }
}

TEST(NamespacesTest, KeepsItsOwnCopyOfTheTables) {
  auto tables = Tables();
  Namespaces ns(tables);
  tables["chat"].history_size = 1;
  tables.erase("default");
  EXPECT_EQ(ns.Of("chat:x").history_size, 100u);
  EXPECT_EQ(ns.Of("x").history_size, 5u);
}

}  // namespace
}  // namespace ringcast::shard
