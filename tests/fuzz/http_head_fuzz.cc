// libFuzzer target for the handshake path: ParseHttpHead under several head
// limits, then ValidateUpgrade, ComputeAcceptKey and QueryParam on whatever
// parses. Checks the parser's own promises (views inside the input, head_bytes
// within both the input and the limit, header_count bounded) beyond "no crash",
// and that HttpHeadScanner fed the input a byte at a time (parsing only when
// it says so, as HttpFront does) reaches the verdict of one parse of the whole.
// Not built by default:
//   clang++ -std=c++20 -fsanitize=fuzzer,address -I. tests/fuzz/http_head_fuzz.cc \
//       net/http_head.cc net/http_head_scanner.cc net/handshake.cc -lcrypto
//   ./a.out tests/fuzz/corpus/http_head
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/handshake.h"
#include "net/http_head.h"
#include "net/http_head_scanner.h"

namespace {

using ringcast::net::HttpParseStatus;
using ringcast::net::HttpRequest;

void Require(bool ok) {
  if (!ok) std::abort();
}

bool Inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void Exercise(std::string_view input, size_t limit) {
  HttpRequest req;
  const ringcast::net::HttpParseResult r = ringcast::net::ParseHttpHead(input, limit, &req);
  if (r.status == HttpParseStatus::kBad || r.status == HttpParseStatus::kTooLarge) {
    Require(!r.error.empty());
    return;
  }
  if (r.status != HttpParseStatus::kComplete) return;

  Require(req.head_bytes <= input.size() && req.head_bytes <= limit);
  Require(req.header_count <= ringcast::net::kMaxHttpHeaders);
  const std::string_view head = input.substr(0, req.head_bytes);
  Require(Inside(req.method, head) && Inside(req.target, head));
  Require(!req.target.empty() && req.target.front() == '/');
  for (size_t i = 0; i < req.header_count; ++i) {
    Require(!req.headers[i].name.empty());
    Require(Inside(req.headers[i].name, head) && Inside(req.headers[i].value, head));
  }

  const ringcast::net::UpgradeCheck check = ringcast::net::ValidateUpgrade(req);
  if (check.status == 0) {
    Require(ringcast::net::IsUpgradeRequest(req));
    const auto accept = ringcast::net::ComputeAcceptKey(req.Header("Sec-WebSocket-Key"));
    Require(accept.has_value());
    Require(!ringcast::net::BuildUpgradeResponse(*accept).empty());
  } else {
    Require(!ringcast::net::BuildHttpError(check.status, check.reason).empty());
  }
  (void)req.HeaderHasToken("Connection", "upgrade");
  for (std::string_view name : {"token", "user", "a"}) {
    (void)ringcast::net::QueryParam(req.query, name);
  }
}

// The scanner only decides when to parse: a verdict it leads to is the whole
// input's, and it may still be waiting only where the whole input has no
// verdict that depends on the head's end (a head cut short after an error in a
// header line, or after too many header fields).
void ExerciseScanner(std::string_view input, size_t limit) {
  HttpRequest req;
  const HttpParseStatus whole = ringcast::net::ParseHttpHead(input, limit, &req).status;
  ringcast::net::HttpHeadScanner scanner;
  HttpParseStatus fed = HttpParseStatus::kIncomplete;
  size_t parses = 0;
  for (size_t n = 1; n <= input.size() && fed == HttpParseStatus::kIncomplete; ++n) {
    const std::string_view buf = input.substr(0, n);
    while (fed == HttpParseStatus::kIncomplete &&
           scanner.Scan(buf, limit) == ringcast::net::HttpHeadScanner::Step::kParse) {
      ++parses;
      fed = ringcast::net::ParseHttpHead(buf, limit, &req).status;
    }
    Require(scanner.scanned() <= n);
  }
  Require(parses <= 3);
  if (fed != HttpParseStatus::kIncomplete) {
    Require(fed == whole);
  } else {
    Require(whole != HttpParseStatus::kComplete);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (size_t limit : {size_t{0}, size_t{16}, size_t{256}, size_t{8192}}) {
    Exercise(input, limit);
    ExerciseScanner(input, limit);
  }
  (void)ringcast::net::ComputeAcceptKey(input);
  return 0;
}
