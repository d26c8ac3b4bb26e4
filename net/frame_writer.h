// FrameWriter: builds server-to-client WebSocket frames (unmasked, FIN set)
// into SharedFrames, with the header produced by wslay's frame layer.
//
// Debian's wslay 1.1.1 has no wslay_frame_write, so the header is captured
// through wslay_frame_send with a send callback that writes into memory; the
// payload is already in place in the SharedFrame and is never copied again.
// One writer per shard; shard thread only.
#pragma once

#include <wslay/wslay.h>

#include <cstdint>
#include <string_view>

#include "core/shared_frame.h"
#include "core/wire.h"

namespace ringcast::net {

class FrameWriter {
 public:
  FrameWriter();
  ~FrameWriter();
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  // Seals a frame whose payload() the caller has filled.
  void Seal(wire::Opcode opcode, core::SharedFrame* frame);
  // Copies payload into a new frame (refs = 1) and seals it.
  core::SharedFrame* Build(wire::Opcode opcode, std::string_view payload,
                           std::string_view tag = {});
  core::SharedFrame* BuildClose(uint16_t code, std::string_view reason);

 private:
  friend ssize_t CaptureSend(const uint8_t* data, size_t len, int flags, void* user_data);
  wslay_frame_context_ptr ctx_ = nullptr;
  uint8_t header_[core::SharedFrame::kMaxHeaderBytes + 4];
  size_t header_bytes_ = 0;
  const uint8_t* payload_ = nullptr;
};

}  // namespace ringcast::net
