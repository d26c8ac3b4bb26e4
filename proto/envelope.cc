#include "proto/envelope.h"

#include "proto/json_writer.h"

namespace ringcast::proto {
namespace {

void OptionalUint(JsonWriter& w, std::string_view key, std::optional<uint64_t> id) {
  if (id.has_value()) w.Field(key, *id);
}

}  // namespace

void WriteWelcome(std::string* out, std::string_view sid, std::string_view user,
                  std::string_view node) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("op", "welcome");
  w.Field("sid", sid);
  w.Field("user", user);
  w.Field("node", node);
  w.Field("v", uint64_t{1});
  w.EndObject();
}

void WriteOk(std::string* out, std::optional<uint64_t> id) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("op", "ok");
  OptionalUint(w, "id", id);
  w.EndObject();
}

void WriteOkSeq(std::string* out, std::optional<uint64_t> id, uint64_t seq,
                std::optional<std::string_view> epoch, std::optional<bool> recovered) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("op", "ok");
  OptionalUint(w, "id", id);
  w.Field("seq", seq);
  if (epoch) w.Field("epoch", *epoch);
  if (recovered) w.Field("recovered", *recovered);
  w.EndObject();
}

void WriteError(std::string* out, std::optional<uint64_t> id, wire::ErrorCode code,
                std::string_view reason) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("op", "error");
  OptionalUint(w, "id", id);
  w.Field("code", wire::ErrorCodeName(code));
  w.Field("reason", reason);
  w.EndObject();
}

void WritePong(std::string* out, std::optional<uint64_t> id) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("op", "pong");
  OptionalUint(w, "id", id);
  w.EndObject();
}

void WriteMsg(std::string* out, std::string_view room, std::optional<uint64_t> seq,
              std::string_view from, std::string_view data_json) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("op", "msg");
  w.Field("room", room);
  OptionalUint(w, "seq", seq);
  w.Field("from", from);
  w.RawField("data", data_json);
  w.EndObject();
}

void WriteDirectMsg(std::string* out, std::string_view from, std::string_view data_json) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("op", "msg");
  w.Field("from", from);
  w.RawField("data", data_json);
  w.EndObject();
}

void WriteBye(std::string* out, wire::CloseCode code, std::string_view reason, bool reconnect) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("op", "bye");
  w.Field("code", uint64_t{wire::CloseValue(code)});
  w.Field("reason", reason);
  w.Field("reconnect", reconnect);
  w.EndObject();
}

}  // namespace ringcast::proto
