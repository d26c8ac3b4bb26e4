// A GoogleTest fixture for the cluster-mode Lua scripts: a real redis-server
// per test, a blocking client on it, and Run(), which calls a script the way
// the backplane does (EVALSHA, then EVAL on NOSCRIPT) and counts the NOSCRIPTs.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "shard/cluster_script.h"
#include "tests/support/redis_process.h"

namespace ringcast::testing {

class RedisScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start()) << redis_.error();
    client_ = std::make_unique<RedisSync>(redis_.port());
    ASSERT_TRUE(client_->connected());
  }

  RedisSync::Reply Run(std::vector<std::string> argv, const shard::RedisScript& script) {
    RedisSync::Reply r = client_->Command(argv);
    if (shard::RedisScript::IsNoScript(r.get())) {
      ++noscript_;
      script.ToEval(&argv);
      r = client_->Command(argv);
    }
    return r;
  }

  RedisProcess redis_;
  std::unique_ptr<RedisSync> client_;
  int noscript_ = 0;  // NOSCRIPT answers Run() met (each retried with EVAL)
};

}  // namespace ringcast::testing
