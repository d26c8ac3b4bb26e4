#include "shard/cluster_script.h"

#include <openssl/sha.h>

#include <array>
#include <string_view>

#include "core/check.h"

namespace ringcast::shard {

RedisScript::RedisScript(std::string source) : source_(std::move(source)) {
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest;
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest.data());
  static constexpr char kHex[] = "0123456789abcdef";
  sha1_.reserve(2 * digest.size());
  for (unsigned char byte : digest) {
    sha1_.push_back(kHex[byte >> 4]);
    sha1_.push_back(kHex[byte & 0xf]);
  }
}

std::vector<std::string> RedisScript::EvalSha(const std::vector<std::string>& keys,
                                              const std::vector<std::string>& args) const {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.emplace_back("EVALSHA");
  argv.push_back(sha1_);
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

void RedisScript::ToEval(std::vector<std::string>* argv) const {
  RC_CHECK(argv->size() >= 3 && (*argv)[0] == "EVALSHA");
  (*argv)[0] = "EVAL";
  (*argv)[1] = source_;
}

std::vector<std::string> RedisScript::Load() const { return {"SCRIPT", "LOAD", source_}; }

bool RedisScript::IsNoScript(const redisReply* reply) {
  return reply != nullptr && reply->type == REDIS_REPLY_ERROR &&
         std::string_view(reply->str, reply->len).starts_with("NOSCRIPT");
}

}  // namespace ringcast::shard
