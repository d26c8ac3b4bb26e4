#include "net/frame_reader.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "net/frame_writer.h"

namespace ringcast::net {
namespace {

// A masked client frame, built by hand so the reader is checked against
// RFC 6455 and not against our own writer.
std::string ClientFrame(uint8_t opcode, std::string_view payload, bool fin = true, bool mask = true,
                        uint8_t rsv = 0) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode));
  uint8_t m = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(m | payload.size()));
  } else if (payload.size() < 65536) {
    out.push_back(static_cast<char>(m | 126));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    out.push_back(static_cast<char>(m | 127));
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<char>((payload.size() >> (8 * i)) & 0xff));
  }
  const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  if (mask) out.append(reinterpret_cast<const char*>(key), 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(payload[i] ^ (mask ? key[i % 4] : 0)));
  }
  return out;
}

struct Recorder : FrameSink {
  std::vector<std::string> texts, pings;
  std::vector<uint16_t> closes;
  bool stop_after_text = false;
  bool OnText(std::string_view m) override {
    texts.emplace_back(m);
    return !stop_after_text;
  }
  bool OnPing(std::string_view p) override {
    pings.emplace_back(p);
    return true;
  }
  bool OnClose(uint16_t code, std::string_view) override {
    closes.push_back(code);
    return false;
  }
};

struct Fixture {
  explicit Fixture(size_t max = 65536) : reader(max) {}
  ~Fixture() { reader.Release(&state); }
  FeedResult Feed(std::string_view bytes) { return reader.Feed(&state, bytes, &sink, &code); }
  FrameReader reader;
  WsReadState state;
  Recorder sink;
  uint16_t code = 0;
};

TEST(FrameReaderTest, ReadsOneTextMessageAndReturnsContext) {
  Fixture f;
  ASSERT_EQ(f.Feed(ClientFrame(0x1, R"({"op":"ping"})")), FeedResult::kOk);
  ASSERT_EQ(f.sink.texts.size(), 1u);
  EXPECT_EQ(f.sink.texts[0], R"({"op":"ping"})");
  // At a frame boundary the connection holds no context and no buffer.
  EXPECT_EQ(f.state.ctx, nullptr);
  EXPECT_EQ(f.state.message, nullptr);
  EXPECT_EQ(f.reader.borrowed(), 0u);
}

TEST(FrameReaderTest, ReadsBackToBackFramesInOneBuffer) {
  Fixture f;
  std::string bytes = ClientFrame(0x1, "a") + ClientFrame(0x9, "p") + ClientFrame(0x1, "bc");
  ASSERT_EQ(f.Feed(bytes), FeedResult::kOk);
  EXPECT_EQ(f.sink.texts, (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(f.sink.pings, (std::vector<std::string>{"p"}));
  EXPECT_EQ(f.reader.borrowed(), 0u);
}

TEST(FrameReaderTest, EverySplitPointGivesTheSameMessages) {
  std::string big(5000, 'x');  // longer than wslay's 4 KB buffer: arrives in chunks
  std::string bytes = ClientFrame(0x1, "hello") + ClientFrame(0x1, big) +
                      ClientFrame(0x1, "fr", false) + ClientFrame(0x9, "") +
                      ClientFrame(0x0, "ag", false) + ClientFrame(0x0, "ment");
  for (size_t split = 0; split <= bytes.size(); split += (split < 40 ? 1 : 97)) {
    Fixture f;
    ASSERT_EQ(f.Feed(std::string_view(bytes).substr(0, split)), FeedResult::kOk) << split;
    ASSERT_EQ(f.Feed(std::string_view(bytes).substr(split)), FeedResult::kOk) << split;
    ASSERT_EQ(f.sink.texts.size(), 3u) << split;
    EXPECT_EQ(f.sink.texts[0], "hello");
    EXPECT_EQ(f.sink.texts[1], big);
    EXPECT_EQ(f.sink.texts[2], "fragment");
    EXPECT_EQ(f.sink.pings.size(), 1u);
    EXPECT_EQ(f.reader.borrowed(), 0u);
  }
}

TEST(FrameReaderTest, ByteAtATime) {
  Fixture f;
  std::string bytes = ClientFrame(0x1, std::string(300, 'y')) + ClientFrame(0x1, "z");
  for (char ch : bytes) ASSERT_EQ(f.Feed(std::string_view(&ch, 1)), FeedResult::kOk);
  ASSERT_EQ(f.sink.texts.size(), 2u);
  EXPECT_EQ(f.sink.texts[0], std::string(300, 'y'));
}

TEST(FrameReaderTest, PartialFrameBorrowsOneContext) {
  Fixture f;
  std::string bytes = ClientFrame(0x1, "abcdef");
  ASSERT_EQ(f.Feed(std::string_view(bytes).substr(0, 4)), FeedResult::kOk);
  EXPECT_NE(f.state.ctx, nullptr);
  EXPECT_EQ(f.reader.borrowed(), 1u);
  ASSERT_EQ(f.Feed(std::string_view(bytes).substr(4)), FeedResult::kOk);
  EXPECT_EQ(f.reader.borrowed(), 0u);
  EXPECT_EQ(f.reader.pooled(), 1u);
}

struct BadCase {
  const char* name;
  std::string bytes;
  uint16_t code;
};

TEST(FrameReaderTest, ViolationsMapToCloseCodes) {
  std::string bad_utf8 = "\xc3\x28";
  std::vector<BadCase> cases = {
      {"unmasked", ClientFrame(0x1, "hi", true, false), 1002},
      {"rsv1", ClientFrame(0x1, "hi", true, true, 4), 1002},
      {"rsv3", ClientFrame(0x1, "hi", true, true, 1), 1002},
      {"opcode 3", ClientFrame(0x3, "hi"), 1002},
      {"opcode 0xb", ClientFrame(0xb, ""), 1002},
      {"fragmented ping", ClientFrame(0x9, "x", false), 1002},
      {"continuation first", ClientFrame(0x0, "x"), 1002},
      {"text inside message", ClientFrame(0x1, "a", false) + ClientFrame(0x1, "b"), 1002},
      {"binary", ClientFrame(0x2, "bin"), 1003},
      {"bad utf8", ClientFrame(0x1, bad_utf8), 1007},
      {"bad utf8 across fragments", ClientFrame(0x1, "\xc3", false) + ClientFrame(0x0, "\x28"),
       1007},
      {"too big", ClientFrame(0x1, std::string(2000, 'a')), 1009},
      {"too big across fragments",
       ClientFrame(0x1, std::string(800, 'a'), false) + ClientFrame(0x0, std::string(800, 'a')),
       1009},
      {"close with 1 byte", ClientFrame(0x8, "x"), 1002},
      {"close with bad code", ClientFrame(0x8, std::string("\x03\xed", 2)), 1002},
      {"close with bad utf8 reason", ClientFrame(0x8, std::string("\x03\xe8", 2) + bad_utf8), 1007},
  };
  for (const BadCase& c : cases) {
    Fixture f(1024);
    EXPECT_EQ(f.Feed(c.bytes), FeedResult::kError) << c.name;
    EXPECT_EQ(f.code, c.code) << c.name;
    EXPECT_TRUE(f.sink.texts.empty()) << c.name;
  }
}

// A message is in progress from its first frame on, even an empty one: the
// continuation that follows is taken, a new text frame is refused, and a
// ping between fragments does not end the message.
TEST(FrameReaderTest, EmptyFirstFragmentStartsAMessage) {
  Fixture ok;
  ASSERT_EQ(ok.Feed(ClientFrame(0x1, "", false) + ClientFrame(0x9, "p") +
                    ClientFrame(0x0, "", false) + ClientFrame(0x0, "{}")),
            FeedResult::kOk);
  ASSERT_EQ(ok.sink.texts.size(), 1u);
  EXPECT_EQ(ok.sink.texts[0], "{}");
  EXPECT_EQ(ok.sink.pings.size(), 1u);
  EXPECT_FALSE(ok.state.InMessage());
  ASSERT_EQ(ok.Feed(ClientFrame(0x1, "", false) + ClientFrame(0x0, "")), FeedResult::kOk);
  ASSERT_EQ(ok.sink.texts.size(), 2u);
  EXPECT_EQ(ok.sink.texts[1], "");

  Fixture bad;
  EXPECT_EQ(bad.Feed(ClientFrame(0x1, "", false) + ClientFrame(0x1, "{}")), FeedResult::kError);
  EXPECT_EQ(bad.code, 1002);
  EXPECT_TRUE(bad.sink.texts.empty());
}

TEST(FrameReaderTest, NonMinimalLengthIsProtocolError) {
  Fixture f;
  std::string bytes = "\x81\xfe";
  bytes += std::string("\x00\x05", 2);  // 5 encoded in 16 bits
  bytes += std::string("\x00\x00\x00\x00hello", 9);
  EXPECT_EQ(f.Feed(bytes), FeedResult::kError);
  EXPECT_EQ(f.code, 1002);
}

TEST(FrameReaderTest, CloseFrameStopsAndReportsCode) {
  Fixture f;
  std::string bytes = ClientFrame(0x8, std::string("\x03\xe8", 2) + "bye") + ClientFrame(0x1, "x");
  EXPECT_EQ(f.Feed(bytes), FeedResult::kStopped);
  EXPECT_EQ(f.sink.closes, (std::vector<uint16_t>{1000}));
  EXPECT_TRUE(f.sink.texts.empty());
}

TEST(FrameReaderTest, EmptyCloseMeansNoStatus) {
  Fixture f;
  EXPECT_EQ(f.Feed(ClientFrame(0x8, "")), FeedResult::kStopped);
  EXPECT_EQ(f.sink.closes, (std::vector<uint16_t>{1005}));
}

TEST(FrameReaderTest, SinkCanStopReading) {
  Fixture f;
  f.sink.stop_after_text = true;
  EXPECT_EQ(f.Feed(ClientFrame(0x1, "a") + ClientFrame(0x1, "b")), FeedResult::kStopped);
  EXPECT_EQ(f.sink.texts.size(), 1u);
}

TEST(FrameReaderTest, MessageAtExactLimitIsAccepted) {
  Fixture f(1000);
  EXPECT_EQ(f.Feed(ClientFrame(0x1, std::string(1000, 'q'))), FeedResult::kOk);
  EXPECT_EQ(f.sink.texts.size(), 1u);
}

TEST(FrameReaderTest, RandomSplitsOfManyMessages) {
  std::mt19937 rng(12345);
  std::string bytes;
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) {
    std::string m(rng() % 9000, static_cast<char>('a' + i % 26));
    expected.push_back(m);
    bytes += ClientFrame(0x1, m);
  }
  Fixture f;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t n = std::min<size_t>(bytes.size() - pos, 1 + rng() % 20000);
    ASSERT_EQ(f.Feed(std::string_view(bytes).substr(pos, n)), FeedResult::kOk);
    pos += n;
  }
  EXPECT_EQ(f.sink.texts, expected);
  EXPECT_EQ(f.reader.borrowed(), 0u);
}

TEST(FrameWriterTest, HeadersForEachLengthClass) {
  FrameWriter w;
  struct {
    size_t len;
    size_t header;
  } cases[] = {{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}};
  for (auto c : cases) {
    core::SharedFrame* f = w.Build(wire::Opcode::kText, std::string(c.len, 'a'));
    ASSERT_EQ(f->size(), c.len + c.header) << c.len;
    EXPECT_EQ(f->data()[0], 0x81);
    EXPECT_EQ(f->data()[1] & 0x80, 0) << "server frames are never masked";
    if (c.header == 4) {
      EXPECT_EQ((f->data()[2] << 8) | f->data()[3], static_cast<int>(c.len));
    }
    if (c.len > 0) {
      EXPECT_EQ(f->data()[c.header], 'a');
    }
    f->Unref();
  }
}

TEST(FrameWriterTest, CloseFrameCarriesCodeAndReason) {
  FrameWriter w;
  core::SharedFrame* f = w.BuildClose(4000, "slow consumer");
  ASSERT_EQ(f->size(), 2u + 2u + 13u);
  EXPECT_EQ(f->data()[0], 0x88);
  EXPECT_EQ((f->data()[2] << 8) | f->data()[3], 4000);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data()) + 4, 13), "slow consumer");
  f->Unref();
}

TEST(FrameWriterTest, WriterOutputReadsBackThroughAClientView) {
  // The tag rides in the same allocation and does not leak into the frame.
  FrameWriter w;
  core::SharedFrame* f = w.Build(wire::Opcode::kText, "payload", "room-7");
  EXPECT_EQ(f->tag(), "room-7");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data()) + 2, f->size() - 2), "payload");
  f->Ref();
  f->Unref();
  EXPECT_EQ(f->refs_approx(), 1u);
  f->Unref();
}

}  // namespace
}  // namespace ringcast::net
