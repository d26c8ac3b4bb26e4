// libFuzzer target for the frame path: received bytes -> net::FrameReader (our header checks +
// wslay's frame layer) -> text messages -> proto::ForEachCommandLine + CommandParser::Parse, as a
// shard runs it for one connection. Input layout (tests/fuzz/corpus/frame/ follows it):
//   byte 0      control: bits 0-1 pick max_message_bytes {65536, 1024, 125, 16};
//               bits 2-3 = k: the sink stops reading at the k-th text message (0 = never)
//   byte 1      n = byte & 15: how many chunk-size bytes follow
//   n bytes     chunk sizes (value + 1) for connection A; whatever is left after them is one
//               last chunk
//   the rest    the byte stream a client sent after its handshake
// Connection A gets the stream in those chunks (as TCP may segment it); connection B, on the
// same reader and so the same context pool, gets it in one piece in the middle of A's chunks.
// Checked invariants: both see the same events (segmentation never changes what is parsed),
// nothing is fed after kError or kStopped, an error carries a close code docs/protocol.md names, a
// client close code is valid or 1005, every parse error has a reason, at most two contexts are
// borrowed at once, and after Release nothing is borrowed and the pool never grows past two.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/check.h"
#include "net/frame_reader.h"
#include "proto/command.h"

namespace {

using ringcast::net::FeedResult;
using ringcast::net::FrameReader;
using ringcast::net::WsReadState;

constexpr size_t kMaxMessageBytes[4] = {65536, 1024, 125, 16};

FrameReader& ReaderFor(unsigned index) {
  // Reused across inputs, as a shard reuses one reader for every connection: a context returned
  // dirty would show up in a later input.
  static FrameReader readers[4] = {
      FrameReader(kMaxMessageBytes[0]), FrameReader(kMaxMessageBytes[1]),
      FrameReader(kMaxMessageBytes[2]), FrameReader(kMaxMessageBytes[3])};
  return readers[index];
}

ringcast::proto::CommandParser& Parser() {
  static ringcast::proto::CommandParser parser;
  return parser;
}

// Records every event as text, so two connections can be compared.
class RecordingSink final : public ringcast::net::FrameSink {
 public:
  RecordingSink(size_t max_message_bytes, unsigned stop_at_text)
      : max_message_bytes_(max_message_bytes), stop_at_text_(stop_at_text) {}

  bool OnText(std::string_view message) override {
    RC_CHECK(message.size() <= max_message_bytes_);
    log_ += "T" + std::to_string(message.size()) + ":";
    log_.append(message);
    ringcast::proto::Command cmd;
    ringcast::proto::ForEachCommandLine(message, [&](std::string_view line) {
      if (auto err = Parser().Parse(line, &cmd)) {
        RC_CHECK(!err->reason.empty());
        log_ += "E" + std::to_string(static_cast<int>(err->code));
      } else {
        RC_CHECK(cmd.room.size() <= ringcast::proto::kMaxRoomBytes);
        log_ += "C" + std::to_string(static_cast<int>(cmd.op));
        log_.append(cmd.room);
        log_.append(cmd.data);
      }
    });
    ++texts_;
    return stop_at_text_ == 0 || texts_ < stop_at_text_;
  }

  bool OnPing(std::string_view payload) override {
    RC_CHECK(payload.size() <= 125);
    log_ += "P";
    log_.append(payload);
    return true;
  }

  bool OnClose(uint16_t code, std::string_view reason) override {
    RC_CHECK(code == 1005 || (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
             (code >= 3000 && code <= 4999));
    RC_CHECK(reason.size() <= 123);
    log_ += "X" + std::to_string(code) + ":";
    log_.append(reason);
    return false;
  }

  void OnResult(FeedResult result, uint16_t close_code) {
    if (result == FeedResult::kError) {
      RC_CHECK(close_code == 1002 || close_code == 1003 || close_code == 1007 ||
               close_code == 1009);
      log_ += "!" + std::to_string(close_code);
    } else if (result == FeedResult::kStopped) {
      log_ += "S";
    }
  }

  const std::string& log() const { return log_; }

 private:
  size_t max_message_bytes_;
  unsigned stop_at_text_;
  unsigned texts_ = 0;
  std::string log_;
};

// One simulated connection: feeds chunks until the reader fails or stops, then never again.
struct Conn {
  WsReadState state;
  RecordingSink sink;
  bool done = false;

  void Feed(FrameReader& reader, std::string_view bytes) {
    if (done) return;
    uint16_t close_code = 0;
    const FeedResult result = reader.Feed(&state, bytes, &sink, &close_code);
    sink.OnResult(result, close_code);
    RC_CHECK(reader.borrowed() <= 2);
    done = result != FeedResult::kOk;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const unsigned reader_index = data[0] & 3;
  const unsigned stop_at_text = (data[0] >> 2) & 3;
  FrameReader& reader = ReaderFor(reader_index);
  RC_CHECK(reader.borrowed() == 0);

  size_t splits = data[1] & 15;
  size_t pos = 2;
  const uint8_t* sizes = data + pos;
  if (splits > size - pos) splits = size - pos;
  pos += splits;
  const std::string_view stream(reinterpret_cast<const char*>(data) + pos, size - pos);

  const size_t max_bytes = kMaxMessageBytes[reader_index];
  Conn a{{}, RecordingSink(max_bytes, stop_at_text)};
  Conn b{{}, RecordingSink(max_bytes, stop_at_text)};
  size_t off = 0;
  for (size_t i = 0; i < splits && off < stream.size(); ++i) {
    const size_t len = std::min<size_t>(size_t{sizes[i]} + 1, stream.size() - off);
    a.Feed(reader, stream.substr(off, len));
    off += len;
    if (i == 0) b.Feed(reader, stream);
  }
  if (splits == 0) b.Feed(reader, stream);
  if (off < stream.size()) a.Feed(reader, stream.substr(off));

  RC_CHECK(a.sink.log() == b.sink.log());
  reader.Release(&a.state);
  reader.Release(&b.state);
  RC_CHECK(a.state.ctx == nullptr && !a.state.InMessage());
  RC_CHECK(reader.borrowed() == 0);
  RC_CHECK(reader.pooled() <= 2);
  return 0;
}
