// HttpHeadScanner with ParseHttpHead, the way HttpFront uses them: a head fed
// one byte per receive is looked at byte by byte once and parsed a few times,
// not once per receive, and the verdict is the parser's on the whole buffer.
#include "net/http_head_scanner.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "net/http_head.h"

namespace ringcast::net {
namespace {

using Step = HttpHeadScanner::Step;

struct Fed {
  HttpParseStatus status = HttpParseStatus::kIncomplete;
  size_t parses = 0;   // ParseHttpHead calls
  size_t scanned = 0;  // bytes the scanner looked at, over all calls
};

// Appends `head` `piece` bytes at a time; after each piece, scans and parses
// only when the scanner says so, as HttpFront does. Stops at a verdict.
Fed FeedInPieces(std::string_view head, size_t piece, size_t limit) {
  Fed fed;
  HttpHeadScanner scanner;
  std::string buf;
  HttpRequest req;
  for (size_t at = 0; at < head.size() && fed.status == HttpParseStatus::kIncomplete; at += piece) {
    buf.append(head.substr(at, piece));
    while (fed.status == HttpParseStatus::kIncomplete) {
      const size_t before = scanner.scanned();
      const Step step = scanner.Scan(buf, limit);
      fed.scanned += scanner.scanned() - before;
      if (step == Step::kMore) break;
      ++fed.parses;
      fed.status = ParseHttpHead(buf, limit, &req).status;
    }
  }
  return fed;
}

// A valid head of about `bytes` bytes, in fewer than kMaxHttpHeaders lines.
std::string LongHead(size_t bytes) {
  std::string head = "GET /ws HTTP/1.1\r\nHost: h\r\n";
  while (head.size() + 190 < bytes) head += "X-Pad: " + std::string(180, 'p') + "\r\n";
  return head + "\r\n";
}

TEST(HttpHeadScannerTest, AHeadTrickledByteByByteIsScannedOnceAndParsedTwice) {
  const std::string head = LongHead(8000);
  Fed fed = FeedInPieces(head, 1, 8192);
  EXPECT_EQ(fed.status, HttpParseStatus::kComplete);
  EXPECT_EQ(fed.scanned, head.size()) << "each byte looked at once";
  EXPECT_EQ(fed.parses, 2u) << "the request line, then the whole head";
}

TEST(HttpHeadScannerTest, AHeadInOnePieceIsParsedAtMostTwice) {
  const std::string head = LongHead(2000);
  Fed fed = FeedInPieces(head, head.size(), 8192);
  EXPECT_EQ(fed.status, HttpParseStatus::kComplete);
  EXPECT_LE(fed.parses, 2u);
}

TEST(HttpHeadScannerTest, StopsAtTheEndOfTheHeadNotAtBytesBehindIt) {
  HttpHeadScanner scanner;
  const std::string head = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string buf = head + "\x81\x85 binary frame \n";
  EXPECT_EQ(scanner.Scan(buf, 8192), Step::kParse);  // the request line
  EXPECT_EQ(scanner.Scan(buf, 8192), Step::kParse);  // the end of the head
  EXPECT_EQ(scanner.scanned(), head.size());
}

TEST(HttpHeadScannerTest, ABadRequestLineIsRefusedBeforeTheHeadEnds) {
  Fed fed = FeedInPieces("BAD{ / HTTP/1.1\r\nHost: h\r\n", 1, 8192);
  EXPECT_EQ(fed.status, HttpParseStatus::kBad);
  EXPECT_EQ(fed.parses, 1u);
}

TEST(HttpHeadScannerTest, AForbiddenByteIsRefusedAtOnce) {
  for (std::string_view bad : {std::string_view("GET / HTTP/1.1\r\nHost: h\nX"),
                               std::string_view("GET / HTTP/1.1\r\nHost: h\rX"),
                               std::string_view("GET / HTTP/1.1\r\nHost: \x01h"),
                               std::string_view("\x16\x03\x01\x02\x00", 5)}) {
    Fed fed = FeedInPieces(bad, 1, 8192);
    EXPECT_EQ(fed.status, HttpParseStatus::kBad) << bad;
  }
}

TEST(HttpHeadScannerTest, NoEndWithinTheLimitIsTooLarge) {
  std::string head = "GET / HTTP/1.1\r\nX: " + std::string(600, 'a');
  Fed fed = FeedInPieces(head, 1, 512);
  EXPECT_EQ(fed.status, HttpParseStatus::kTooLarge);
  EXPECT_LE(fed.scanned, 512u);
}

// Whatever the pieces, the verdict is the one the parser gives the whole
// buffer at once: the scanner only decides when to ask.
TEST(HttpHeadScannerTest, AgreesWithParsingTheWholeHead) {
  const std::vector<std::string> heads = {
      "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
      "\r\n\r\n",
      "GET / HTTP/1.1\r\n Host: h\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
      "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\t\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\n\n",
      "GET /\x7f HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nA: \xff\xfe\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",
  };
  for (const std::string& head : heads) {
    HttpRequest req;
    const HttpParseStatus whole = ParseHttpHead(head, 8192, &req).status;
    for (size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
      EXPECT_EQ(FeedInPieces(head, piece, 8192).status, whole) << piece << ": " << head;
    }
  }
}

}  // namespace
}  // namespace ringcast::net
