// Server-to-client envelopes (docs/protocol.md, "Server frames"). Each function
// appends exactly one compact JSON object, fields in a fixed order, to *out and
// never clears it, so a caller can build several replies or a frame header plus
// payload in one reused buffer. `data_json` arguments are inserted verbatim and
// must already be one valid JSON value (the parser hands out such views); every
// other string is escaped. Pure functions: safe on any thread for distinct outs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/wire.h"

namespace ringcast::proto {

// {"op":"welcome","sid":..,"user":..,"node":..,"v":1}
void WriteWelcome(std::string* out, std::string_view sid, std::string_view user,
                  std::string_view node);
// {"op":"ok","id":N} (no id when nullopt)
void WriteOk(std::string* out, std::optional<uint64_t> id);
// `ok` for a command on a room that keeps history:
// {"op":"ok","id":N,"seq":S[,"epoch":E][,"recovered":B]}.
void WriteOkSeq(std::string* out, std::optional<uint64_t> id, uint64_t seq,
                std::optional<std::string_view> epoch, std::optional<bool> recovered);
// {"op":"error","id":N,"code":"bad_json","reason":"..."} (no id when nullopt)
void WriteError(std::string* out, std::optional<uint64_t> id, wire::ErrorCode code,
                std::string_view reason);
// {"op":"pong","id":N} (no id when nullopt)
void WritePong(std::string* out, std::optional<uint64_t> id);
// {"op":"msg","room":..,"seq":N,"from":..,"data":<data_json>} (no seq when nullopt)
void WriteMsg(std::string* out, std::string_view room, std::optional<uint64_t> seq,
              std::string_view from, std::string_view data_json);
// {"op":"msg","from":..,"data":<data_json>}
void WriteDirectMsg(std::string* out, std::string_view from, std::string_view data_json);
// {"op":"bye","code":1001,"reason":"..","reconnect":true}
void WriteBye(std::string* out, wire::CloseCode code, std::string_view reason, bool reconnect);

}  // namespace ringcast::proto
