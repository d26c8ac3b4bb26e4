#include "shard/replies.h"

#include <string>

#include "proto/envelope.h"

namespace ringcast::shard {

namespace {
std::string& Scratch() {
  thread_local std::string scratch;  // one per shard thread, reused
  scratch.clear();
  return scratch;
}
}  // namespace

void ReplyOk(Sessions& sessions, Connection& c, uint32_t slot, std::optional<uint64_t> id) {
  if (!id) return;
  std::string& out = Scratch();
  proto::WriteOk(&out, id);
  sessions.Reply(c, slot, sessions.BuildText(out));
}

void ReplyError(Sessions& sessions, Connection& c, uint32_t slot, std::optional<uint64_t> id,
                wire::ErrorCode code, std::string_view reason) {
  std::string& out = Scratch();
  proto::WriteError(&out, id, code, reason);
  sessions.Reply(c, slot, sessions.BuildText(out));
}

void CompleteOk(Sessions& sessions, Connection& c, uint32_t slot, uint32_t ticket) {
  std::string& out = Scratch();
  proto::WriteOk(&out, sessions.FindTicket(c, ticket)->id);
  sessions.CompleteTicket(c, slot, ticket, sessions.BuildText(out));
}

void CompleteError(Sessions& sessions, Connection& c, uint32_t slot, uint32_t ticket,
                   wire::ErrorCode code, std::string_view reason) {
  std::string& out = Scratch();
  proto::WriteError(&out, sessions.FindTicket(c, ticket)->id, code, reason);
  sessions.CompleteTicket(c, slot, ticket, sessions.BuildText(out));
}

}  // namespace ringcast::shard
