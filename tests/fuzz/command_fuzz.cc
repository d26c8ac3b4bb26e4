// libFuzzer target for the client command parser: splits the input into lines
// as a text frame would be, parses each, and checks the invariants a caller
// relies on: every error has a reason, a success has an op whose required
// fields are present, and every view is readable.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/check.h"
#include "proto/command.h"

namespace {

size_t Touch(std::string_view s) {
  size_t sum = 0;
  for (char c : s) sum += static_cast<unsigned char>(c);
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ringcast::proto::Command;
  using ringcast::proto::CommandParser;
  using ringcast::proto::Op;
  static CommandParser parser;  // reused across inputs, as a shard reuses it
  Command cmd;
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  volatile size_t sink = 0;
  ringcast::proto::ForEachCommandLine(message, [&](std::string_view line) {
    if (auto err = parser.Parse(line, &cmd)) {
      RC_CHECK(!err->reason.empty());
      sink = sink + Touch(err->reason);
      return;
    }
    sink = sink + Touch(cmd.room) + Touch(cmd.data) + Touch(cmd.rid);
    for (std::string_view user : cmd.to) sink = sink + Touch(user);
    if (cmd.since) sink = sink + Touch(cmd.since->epoch);
    RC_CHECK(cmd.room.size() <= ringcast::proto::kMaxRoomBytes);
    RC_CHECK(cmd.to.size() <= ringcast::proto::kMaxSendTargets);
    switch (cmd.op) {
      case Op::kSub:
      case Op::kUnsub:
      case Op::kPresence:
        RC_CHECK(!cmd.room.empty());
        break;
      case Op::kPub:
        RC_CHECK(!cmd.room.empty() && !cmd.data.empty());
        break;
      case Op::kSend:
        RC_CHECK(!cmd.to.empty() && !cmd.data.empty());
        break;
      case Op::kReq:
        RC_CHECK(cmd.to.size() == 1 && !cmd.data.empty());
        break;
      case Op::kRes:
        RC_CHECK(!cmd.rid.empty() && !cmd.data.empty());
        break;
      case Op::kPing:
        break;
    }
    // data is one JSON value: re-parsing it wrapped in a command must succeed.
    if (!cmd.data.empty()) {
      static CommandParser reparser;
      Command again;
      std::string wrapped = R"({"op":"pub","room":"r","data":)";
      wrapped.append(cmd.data);
      wrapped.push_back('}');
      auto err = reparser.Parse(wrapped, &again);
      RC_CHECK(!err.has_value());
      RC_CHECK(again.data == cmd.data);
    }
  });
  return 0;
}
