// SessionSink: what the frame reader finds in one open session's input,
// turned into the session's actions: text messages go to SessionEvents, a
// ping is answered with a pong, a close is echoed (RFC 6455 5.5.1: the
// peer's code, or 1000 when it gave none) and ends the session. Lives on
// the stack for one Feed(); shard thread only.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/wire.h"
#include "net/frame_reader.h"
#include "net/frame_writer.h"
#include "shard/sessions.h"

namespace ringcast::shard {

class SessionSink final : public net::FrameSink {
 public:
  SessionSink(Sessions* sessions, SessionEvents* events, Connection* c, uint32_t slot,
              net::FrameWriter* writer)
      : sessions_(sessions), events_(events), c_(c), slot_(slot), writer_(writer) {}
  bool OnText(std::string_view message) override { return events_->OnText(*c_, slot_, message); }
  bool OnPing(std::string_view payload) override {
    sessions_->Enqueue(*c_, slot_, writer_->Build(wire::Opcode::kPong, payload));
    return c_->state == ConnState::kOpen;
  }
  bool OnClose(uint16_t code, std::string_view /*reason*/) override {
    uint16_t echo = code == wire::CloseValue(wire::CloseCode::kNoStatus)
                        ? wire::CloseValue(wire::CloseCode::kNormal)
                        : code;
    sessions_->EchoClose(*c_, slot_, echo);
    return false;
  }

 private:
  Sessions* sessions_;
  SessionEvents* events_;
  Connection* c_;
  uint32_t slot_;
  net::FrameWriter* writer_;
};

}  // namespace ringcast::shard
