// FdBudget: the connection limits fitted to the open-file limit, so that a
// full shard answers (503, /healthz) instead of running out of fds.
#include "shard/fd_budget.h"

#include <gtest/gtest.h>

namespace ringcast::shard {
namespace {

// Every fd the plan hands out, with the process's and the shards' own.
uint64_t FdsUsed(const FdPlan& plan, unsigned shards) {
  return kProcessFds + kShardFds * shards +
         uint64_t{shards} * (plan.max_connections_per_shard + plan.http_reserve_per_shard);
}

TEST(FdBudgetTest, AutomaticLimitIsTheDefaultCapWhenTheLimitIsHigh) {
  FdPlan plan = PlanFds(1 << 22, 4, 0, 256);
  EXPECT_EQ(plan.max_connections_per_shard, kDefaultConnectionsPerShard);
  EXPECT_EQ(plan.http_reserve_per_shard, 256u);
  EXPECT_EQ(plan.warning, "");
  EXPECT_EQ(plan.error, "");
}

TEST(FdBudgetTest, AutomaticLimitFitsALowLimitAndWarns) {
  FdPlan plan = PlanFds(20000, 2, 0, 256);
  EXPECT_EQ(plan.http_reserve_per_shard, 256u);
  EXPECT_EQ(plan.max_connections_per_shard, (20000 - 32 - 8) / 2 - 256);
  EXPECT_LE(FdsUsed(plan, 2), 20000u);
  EXPECT_NE(plan.warning.find("open-file limit is low (20000)"), std::string::npos) << plan.warning;
  EXPECT_NE(plan.warning.find("9724 WebSocket connections per shard"), std::string::npos)
      << plan.warning;
}

TEST(FdBudgetTest, ReserveTakesAtMostAQuarterOfAShardsShare) {
  FdPlan plan = PlanFds(256, 1, 0, 256);
  EXPECT_EQ(plan.http_reserve_per_shard, (256u - 36) / 4);
  EXPECT_EQ(plan.max_connections_per_shard, 256u - 36 - plan.http_reserve_per_shard);
  EXPECT_LE(FdsUsed(plan, 1), 256u);
}

// A share below 4 fds still keeps one HTTP socket (a quarter of it would be 0), so
// a full shard answers /healthz; a session keeps one too. No reserve asked, none kept.
TEST(FdBudgetTest, ReserveKeepsOneSocketWhenTheShareIsTiny) {
  for (uint64_t share = 2; share <= 7; ++share) {
    const uint64_t limit = 32 + 4 * 2 + 2 * share;
    FdPlan plan = PlanFds(limit, 2, 0, 256);
    EXPECT_EQ(plan.error, "") << share;
    EXPECT_EQ(plan.http_reserve_per_shard, 1u) << share;
    EXPECT_EQ(plan.max_connections_per_shard, share - 1) << share;
    EXPECT_LE(FdsUsed(plan, 2), limit) << share;
    EXPECT_EQ(PlanFds(limit, 2, 0, 0).http_reserve_per_shard, 0u) << share;
    EXPECT_EQ(PlanFds(limit, 2, 0, 0).max_connections_per_shard, share) << share;
  }
}

TEST(FdBudgetTest, ExplicitLimitThatFitsIsKeptWithoutWarning) {
  FdPlan plan = PlanFds(20000, 2, 600, 256);
  EXPECT_EQ(plan.max_connections_per_shard, 600u);
  EXPECT_EQ(plan.warning, "");
}

TEST(FdBudgetTest, ExplicitLimitThatDoesNotFitIsLoweredWithAWarning) {
  FdPlan plan = PlanFds(20000, 2, 262144, 256);
  EXPECT_EQ(plan.max_connections_per_shard, 9724u);
  EXPECT_LE(FdsUsed(plan, 2), 20000u);
  EXPECT_NE(plan.warning.find("limits.max_connections_per_shard = 262144 does not fit"),
            std::string::npos)
      << plan.warning;
}

TEST(FdBudgetTest, LimitTooLowForOneConnectionPerShardIsAnError) {
  FdPlan plan = PlanFds(40, 2, 0, 256);
  EXPECT_NE(plan.error.find("open-file limit (40) is too low for 2 shards"), std::string::npos)
      << plan.error;
  EXPECT_EQ(PlanFds(44, 2, 0, 256).error, "");
}

}  // namespace
}  // namespace ringcast::shard
