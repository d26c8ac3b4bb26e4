#include "tools/load/payload.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ringcast::load {
namespace {

TEST(PayloadTest, RoundTrips) {
  PayloadFields f{0xdeadbeef, 123456789012ull, 987654321987654321ull, true};
  std::string text = EncodePayload(f, 64);
  EXPECT_EQ(DecodePayload(text), f);
  f.measured = false;
  f.seq = kMaxPayloadSeq;
  EXPECT_EQ(DecodePayload(EncodePayload(f, 46)), f);
}

TEST(PayloadTest, RoundTripsRandomFields) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100000; ++i) {
    PayloadFields f{static_cast<uint32_t>(rng()), rng() & kMaxPayloadSeq, rng(), (rng() & 1) != 0};
    ASSERT_EQ(DecodePayload(EncodePayload(f, 46 + rng() % 100)), f);
  }
}

TEST(PayloadTest, PadsToRequestedSizeWithAMinimum) {
  PayloadFields f{1, 2, 3, true};
  std::string text = EncodePayload(f, 200);
  ASSERT_EQ(text.size(), 200u);
  EXPECT_EQ(text.find_first_not_of('x', kMinPayloadBytes), std::string::npos);
  EXPECT_EQ(EncodePayload(f, 10).size(), kMinPayloadBytes);
  EXPECT_EQ(text.find_first_of("\"\\"), std::string::npos);  // a JSON string's content as is
}

TEST(PayloadTest, RejectsGarbage) {
  std::string good = EncodePayload({7, 8, 9, false}, 64);
  EXPECT_FALSE(DecodePayload(""));
  EXPECT_FALSE(DecodePayload("hello world"));
  EXPECT_FALSE(DecodePayload(good.substr(0, kMinPayloadBytes - 1)));
  for (size_t i = 0; i < kMinPayloadBytes; ++i) {
    std::string bad = good;
    bad[i] = 'G';  // neither hex, separator, flag nor magic
    EXPECT_FALSE(DecodePayload(bad)) << "corrupted at " << i;
  }
}

TEST(PayloadTest, FindsPayloadInsideAServerFrame) {
  PayloadFields f{3, 4, 5, true};
  std::string frame =
      R"({"op":"msg","room":"r","from":"u","data":")" + EncodePayload(f, 80) + "\"}";
  EXPECT_EQ(FindPayload(frame), f);
  EXPECT_FALSE(FindPayload(R"({"op":"msg","data":"rcl1:nothex"})"));
}

// The reverse scan finds a payload that is the last string value; any other
// place falls back to the forward search.
TEST(PayloadTest, LocatesPayloadWhereverItIs) {
  std::string p = EncodePayload({1, 2, 3, true}, 50);
  std::string last = R"({"op":"msg","room":"r","data":")" + p + "\"}";
  EXPECT_EQ(LocatePayload(last), last.find("rcl1:"));
  std::string sio = R"(42["msg",{"room":"r","data":")" + p + "\"}]";
  EXPECT_EQ(LocatePayload(sio), sio.find("rcl1:"));
  std::string first = R"({"data":")" + p + R"(","from":"someone","op":"msg"})";
  EXPECT_EQ(LocatePayload(first), first.find("rcl1:"));
  EXPECT_EQ(FindPayload(first), (PayloadFields{1, 2, 3, true}));
  std::string number_last = R"({"op":"msg","data":")" + p + R"(","seq":17})";
  EXPECT_EQ(LocatePayload(number_last), number_last.find("rcl1:"));
  EXPECT_EQ(LocatePayload(R"({"op":"msg","data":"hello"})"), std::string::npos);
  EXPECT_EQ(LocatePayload(R"(rcl1:)"), std::string::npos);  // no quote before it
  EXPECT_EQ(LocatePayload(""), std::string::npos);
}

TEST(PayloadTest, RejectsEveryNonLowercaseHexDigit) {
  std::string good = EncodePayload({7, 8, 9, false}, 64);
  // First and last digit of each field, and inside the two halves of the sequence number.
  for (size_t at : {5u, 12u, 14u, 17u, 20u, 25u, 27u, 35u, 42u}) {
    for (int c = 0; c < 256; ++c) {
      bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      std::string probe = good;
      probe[at] = static_cast<char>(c);
      EXPECT_EQ(DecodePayload(probe).has_value(), hex) << "byte " << c << " at " << at;
    }
  }
}

}  // namespace
}  // namespace ringcast::load
