// Replies: the protocol's `ok` and `error` answers to a connection, sent in
// command order through its Sessions (at once, or by completing the ticket
// the command reserved). Shard thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/wire.h"
#include "shard/sessions.h"

namespace ringcast::shard {

void ReplyOk(Sessions& sessions, Connection& c, uint32_t slot, std::optional<uint64_t> id);
void ReplyError(Sessions& sessions, Connection& c, uint32_t slot, std::optional<uint64_t> id,
                wire::ErrorCode code, std::string_view reason);
void CompleteOk(Sessions& sessions, Connection& c, uint32_t slot, uint32_t ticket);
void CompleteError(Sessions& sessions, Connection& c, uint32_t slot, uint32_t ticket,
                   wire::ErrorCode code, std::string_view reason);

}  // namespace ringcast::shard
