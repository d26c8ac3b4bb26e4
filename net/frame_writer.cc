#include "net/frame_writer.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"

namespace ringcast::net {

// Header bytes land in header_; the payload, already in the frame, is
// acknowledged without a copy.
ssize_t CaptureSend(const uint8_t* data, size_t len, int /*flags*/, void* user_data) {
  auto* w = static_cast<FrameWriter*>(user_data);
  if (data == w->payload_) return static_cast<ssize_t>(len);
  RC_CHECK(w->header_bytes_ + len <= sizeof(w->header_));
  std::memcpy(w->header_ + w->header_bytes_, data, len);
  w->header_bytes_ += len;
  return static_cast<ssize_t>(len);
}

namespace {
ssize_t UnusedRecv(uint8_t*, size_t, int, void*) { return WSLAY_ERR_INVALID_CALLBACK; }
int UnusedGenmask(uint8_t*, size_t, void*) { return -1; }
}  // namespace

FrameWriter::FrameWriter() {
  wslay_frame_callbacks callbacks{CaptureSend, UnusedRecv, UnusedGenmask};
  RC_CHECK(wslay_frame_context_init(&ctx_, &callbacks, this) == 0);
}

FrameWriter::~FrameWriter() { wslay_frame_context_free(ctx_); }

void FrameWriter::Seal(wire::Opcode opcode, core::SharedFrame* frame) {
  wslay_frame_iocb iocb{};
  iocb.fin = 1;
  iocb.opcode = wire::OpcodeValue(opcode);
  iocb.mask = 0;
  iocb.payload_length = frame->payload_bytes();
  iocb.data = frame->payload();
  iocb.data_length = frame->payload_bytes();
  header_bytes_ = 0;
  payload_ = frame->payload();
  ssize_t r = wslay_frame_send(ctx_, &iocb);
  RC_CHECK(r == static_cast<ssize_t>(frame->payload_bytes()));
  RC_CHECK(header_bytes_ >= 2 && header_bytes_ <= core::SharedFrame::kMaxHeaderBytes);
  frame->Seal(header_, header_bytes_);
  payload_ = nullptr;
}

core::SharedFrame* FrameWriter::Build(wire::Opcode opcode, std::string_view payload,
                                      std::string_view tag) {
  core::SharedFrame* frame = core::SharedFrame::Create(payload.size(), tag);
  if (!payload.empty()) std::memcpy(frame->payload(), payload.data(), payload.size());
  Seal(opcode, frame);
  return frame;
}

core::SharedFrame* FrameWriter::BuildClose(uint16_t code, std::string_view reason) {
  reason = reason.substr(0, std::min<size_t>(reason.size(), 123));
  core::SharedFrame* frame = core::SharedFrame::Create(2 + reason.size(), {});
  frame->payload()[0] = static_cast<uint8_t>(code >> 8);
  frame->payload()[1] = static_cast<uint8_t>(code & 0xff);
  if (!reason.empty()) std::memcpy(frame->payload() + 2, reason.data(), reason.size());
  Seal(wire::Opcode::kClose, frame);
  return frame;
}

}  // namespace ringcast::net
