// RedisScript: one Lua script of cluster mode, called the way Redis wants
// scripts called: EVALSHA with the SHA1 of the source (computed once here, so
// the common call sends 40 bytes instead of the script), and on a NOSCRIPT
// error (a restarted or failed-over Redis forgot its script cache) the same
// call again as EVAL, which runs the script and caches it again. Builds argv
// vectors only; the backplane sends them. Immutable after construction: any
// thread.
#pragma once

#include <hiredis/hiredis.h>

#include <string>
#include <string_view>
#include <vector>

namespace ringcast::shard {

class RedisScript {
 public:
  explicit RedisScript(std::string source);

  const std::string& source() const { return source_; }
  // Lower-case hex, as SCRIPT LOAD answers.
  const std::string& sha1() const { return sha1_; }

  // EVALSHA sha1 numkeys keys... args...
  std::vector<std::string> EvalSha(const std::vector<std::string>& keys,
                                   const std::vector<std::string>& args) const;
  // Turns an argv built by EvalSha into the EVAL fallback in place.
  void ToEval(std::vector<std::string>* argv) const;
  // SCRIPT LOAD source (to warm a fresh connection; EVAL does it too).
  std::vector<std::string> Load() const;

  // True for the error a server without the script in its cache answers.
  static bool IsNoScript(const redisReply* reply);

 private:
  std::string source_;
  std::string sha1_;
};

}  // namespace ringcast::shard
