#include "net/frame_reader.h"

#include <simdjson.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "core/wire.h"

namespace ringcast::net {

namespace {

constexpr uint8_t kOpContinuation = wire::OpcodeValue(wire::Opcode::kContinuation);
constexpr uint8_t kOpText = wire::OpcodeValue(wire::Opcode::kText);
constexpr uint8_t kOpBinary = wire::OpcodeValue(wire::Opcode::kBinary);
constexpr uint8_t kOpClose = wire::OpcodeValue(wire::Opcode::kClose);
constexpr uint8_t kOpPing = wire::OpcodeValue(wire::Opcode::kPing);
constexpr uint8_t kOpPong = wire::OpcodeValue(wire::Opcode::kPong);

constexpr uint16_t kCloseProtocol = wire::CloseValue(wire::CloseCode::kProtocolError);
constexpr uint16_t kCloseUnsupported = wire::CloseValue(wire::CloseCode::kUnsupportedData);
constexpr uint16_t kCloseNoStatus = wire::CloseValue(wire::CloseCode::kNoStatus);
constexpr uint16_t kCloseInvalidPayload = wire::CloseValue(wire::CloseCode::kInvalidPayload);
constexpr uint16_t kCloseTooBig = wire::CloseValue(wire::CloseCode::kTooBig);

}  // namespace

// One pooled wslay context plus our bookkeeping for the frame it is reading.
struct FrameContext {
  wslay_frame_context_ptr wslay = nullptr;
  // Header, gathered by us before wslay sees it.
  uint8_t hdr[14];
  uint8_t hdr_have = 0;
  uint8_t hdr_fed = 0;
  bool header_done = false;
  bool fin = false;
  uint8_t opcode = 0;
  uint64_t payload_len = 0;
  uint64_t payload_fed = 0;  // given to wslay
  uint64_t payload_got = 0;  // returned by wslay, unmasked
  // Payload bytes wslay may take now.
  const uint8_t* in = nullptr;
  size_t in_len = 0;
  // A whole single-frame message, pointing into wslay's buffer (fast path).
  const uint8_t* direct = nullptr;
  size_t direct_len = 0;
  uint8_t ctrl[125];
  uint8_t ctrl_len = 0;

  void ResetFrame() {
    hdr_have = hdr_fed = 0;
    header_done = fin = false;
    opcode = 0;
    payload_len = payload_fed = payload_got = 0;
    in = direct = nullptr;
    in_len = direct_len = 0;
    ctrl_len = 0;
  }

  uint8_t HeaderNeed() const {
    if (hdr_have < 2) return 2;
    uint8_t len7 = hdr[1] & 0x7f;
    uint8_t ext = len7 == 126 ? 2 : (len7 == 127 ? 8 : 0);
    return static_cast<uint8_t>(2 + ext + ((hdr[1] & 0x80) ? 4 : 0));
  }
};

namespace {

// wslay pulls bytes: the stashed header first, then this frame's payload window.
ssize_t RecvCallback(uint8_t* buf, size_t len, int /*flags*/, void* user_data) {
  auto* c = static_cast<FrameContext*>(user_data);
  size_t out = 0;
  if (c->hdr_fed < c->hdr_have) {
    size_t n = std::min<size_t>(len, c->hdr_have - c->hdr_fed);
    std::memcpy(buf, c->hdr + c->hdr_fed, n);
    c->hdr_fed = static_cast<uint8_t>(c->hdr_fed + n);
    out += n;
  }
  size_t n = std::min(len - out, c->in_len);
  if (n > 0) {
    std::memcpy(buf + out, c->in, n);
    c->in += n;
    c->in_len -= n;
    out += n;
  }
  return static_cast<ssize_t>(out);
}

ssize_t UnusedSend(const uint8_t*, size_t, int, void*) { return WSLAY_ERR_INVALID_CALLBACK; }
int UnusedGenmask(uint8_t*, size_t, void*) { return -1; }

}  // namespace

FrameReader::FrameReader(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

FrameReader::~FrameReader() {
  RC_CHECK(borrowed_ == 0);
  for (auto& c : all_) wslay_frame_context_free(c->wslay);
}

FrameContext* FrameReader::Borrow() {
  FrameContext* c;
  if (!pool_.empty()) {
    c = pool_.back();
    pool_.pop_back();
  } else {
    all_.push_back(std::make_unique<FrameContext>());
    c = all_.back().get();
    wslay_frame_callbacks callbacks{UnusedSend, RecvCallback, UnusedGenmask};
    RC_CHECK(wslay_frame_context_init(&c->wslay, &callbacks, c) == 0);
  }
  c->ResetFrame();
  ++borrowed_;
  return c;
}

void FrameReader::Return(FrameContext* c) {
  --borrowed_;
  pool_.push_back(c);
}

void FrameReader::Release(WsReadState* state) {
  if (state->ctx != nullptr) {
    // Mid-frame: wslay holds partial state we cannot rewind, so start afresh.
    FrameContext* c = state->ctx;
    wslay_frame_context_free(c->wslay);
    wslay_frame_callbacks callbacks{UnusedSend, RecvCallback, UnusedGenmask};
    RC_CHECK(wslay_frame_context_init(&c->wslay, &callbacks, c) == 0);
    Return(c);
    state->ctx = nullptr;
  }
  state->message.reset();
}

uint16_t FrameReader::ValidateHeader(const WsReadState& state, FrameContext* c) const {
  const uint8_t* h = c->hdr;
  c->fin = (h[0] & 0x80) != 0;
  c->opcode = h[0] & 0x0f;
  uint8_t len7 = h[1] & 0x7f;
  if (len7 == 126) {
    c->payload_len = (uint64_t{h[2]} << 8) | h[3];
    if (c->payload_len < 126) return kCloseProtocol;
  } else if (len7 == 127) {
    c->payload_len = 0;
    for (int i = 0; i < 8; ++i) c->payload_len = (c->payload_len << 8) | h[2 + i];
    if (c->payload_len < 65536 || (c->payload_len >> 63) != 0) return kCloseProtocol;
  } else {
    c->payload_len = len7;
  }
  if ((h[0] & 0x70) != 0) return kCloseProtocol;  // reserved bits, no extension negotiated
  if ((h[1] & 0x80) == 0) return kCloseProtocol;  // clients must mask
  switch (c->opcode) {
    case kOpContinuation:
      if (!state.InMessage()) return kCloseProtocol;
      break;
    case kOpText:
      if (state.InMessage()) return kCloseProtocol;
      break;
    case kOpBinary:
      return state.InMessage() ? kCloseProtocol : kCloseUnsupported;
    case kOpClose:
    case kOpPing:
    case kOpPong:
      if (!c->fin || c->payload_len > 125) return kCloseProtocol;
      return 0;
    default:
      return kCloseProtocol;
  }
  size_t so_far = state.message ? state.message->size() : 0;
  if (c->payload_len > max_message_bytes_ - so_far) return kCloseTooBig;
  return 0;
}

FeedResult FrameReader::Feed(WsReadState* state, std::string_view bytes, FrameSink* sink,
                             uint16_t* close_code) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t n = bytes.size();
  while (true) {
    if (state->ctx == nullptr) {
      if (n == 0) return FeedResult::kOk;
      state->ctx = Borrow();
    }
    FrameContext* c = state->ctx;
    if (!c->header_done) {
      while (c->hdr_have < c->HeaderNeed()) {
        if (n == 0) return FeedResult::kOk;
        size_t take = std::min<size_t>(c->HeaderNeed() - c->hdr_have, n);
        std::memcpy(c->hdr + c->hdr_have, p, take);
        c->hdr_have = static_cast<uint8_t>(c->hdr_have + take);
        p += take;
        n -= take;
      }
      if (uint16_t err = ValidateHeader(*state, c); err != 0) {
        *close_code = err;
        return FeedResult::kError;
      }
      c->header_done = true;
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, c->payload_len - c->payload_fed));
    c->in = p;
    c->in_len = take;
    bool frame_done = false;
    while (!frame_done) {
      wslay_frame_iocb iocb{};
      ssize_t r = wslay_frame_recv(c->wslay, &iocb);
      if (r == WSLAY_ERR_WANT_READ) break;
      if (r < 0) {
        *close_code = kCloseProtocol;
        return FeedResult::kError;
      }
      if (wslay_is_ctrl_frame(c->opcode)) {
        std::memcpy(c->ctrl + c->ctrl_len, iocb.data, iocb.data_length);
        c->ctrl_len = static_cast<uint8_t>(c->ctrl_len + iocb.data_length);
      } else if (state->message == nullptr && c->fin && iocb.data_length == c->payload_len) {
        c->direct = iocb.data;  // whole message in one chunk: no copy
        c->direct_len = iocb.data_length;
      } else {
        if (state->message == nullptr) state->message = std::make_unique<std::string>();
        state->message->append(reinterpret_cast<const char*>(iocb.data), iocb.data_length);
      }
      c->payload_got += iocb.data_length;
      frame_done = c->payload_got == c->payload_len;
    }
    size_t consumed = take - c->in_len;
    p += consumed;
    n -= consumed;
    c->payload_fed += consumed;
    if (!frame_done) {
      RC_CHECK(n == 0);
      return FeedResult::kOk;
    }
    FeedResult result = FinishFrame(state, c, sink, close_code);
    if (result != FeedResult::kOk) return result;
  }
}

FeedResult FrameReader::FinishFrame(WsReadState* state, FrameContext* c, FrameSink* sink,
                                    uint16_t* close_code) {
  // The context is clean at a frame boundary; it goes back before the sink
  // runs (the sink may close the connection). Its buffer stays intact until
  // the next Borrow, which cannot happen during the callback.
  state->ctx = nullptr;
  Return(c);
  switch (c->opcode) {
    case kOpPing:
      return sink->OnPing({reinterpret_cast<const char*>(c->ctrl), c->ctrl_len})
                 ? FeedResult::kOk
                 : FeedResult::kStopped;
    case kOpPong:
      return FeedResult::kOk;
    case kOpClose: {
      if (c->ctrl_len == 1) {
        *close_code = kCloseProtocol;
        return FeedResult::kError;
      }
      uint16_t code = kCloseNoStatus;
      std::string_view reason;
      if (c->ctrl_len >= 2) {
        code = static_cast<uint16_t>((c->ctrl[0] << 8) | c->ctrl[1]);
        reason = {reinterpret_cast<const char*>(c->ctrl + 2), size_t{c->ctrl_len} - 2u};
        if (!wire::IsValidCloseCode(code)) {
          *close_code = kCloseProtocol;
          return FeedResult::kError;
        }
        if (!simdjson::validate_utf8(reason.data(), reason.size())) {
          *close_code = kCloseInvalidPayload;
          return FeedResult::kError;
        }
      }
      sink->OnClose(code, reason);
      return FeedResult::kStopped;
    }
    default:
      break;
  }
  if (!c->fin) {  // more fragments to come: the message is in progress, even if still empty
    if (state->message == nullptr) state->message = std::make_unique<std::string>();
    return FeedResult::kOk;
  }
  // Owned here, not by the connection: the sink may close the connection
  // (and so Release its state) while it still reads the message.
  std::unique_ptr<std::string> assembled = std::move(state->message);
  std::string_view message =
      c->direct != nullptr
          ? std::string_view(reinterpret_cast<const char*>(c->direct), c->direct_len)
          : (assembled ? std::string_view(*assembled) : std::string_view());
  if (!simdjson::validate_utf8(message.data(), message.size())) {
    *close_code = kCloseInvalidPayload;
    return FeedResult::kError;
  }
  return sink->OnText(message) ? FeedResult::kOk : FeedResult::kStopped;
}

}  // namespace ringcast::net
