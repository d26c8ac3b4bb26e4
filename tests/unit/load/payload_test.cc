#include "tools/load/payload.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ringcast::load
