#include "net/http_head_scanner.h"

#include <algorithm>

#include "core/check.h"

namespace ringcast::net {
namespace {

// Bytes no request head may hold anywhere: control characters other than
// HTAB (CR and LF are judged by what surrounds them).
constexpr bool IsForbidden(unsigned char c) {
  return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

}  // namespace

HttpHeadScanner::Step HttpHeadScanner::Scan(std::string_view buf, size_t max_head_bytes) {
  RC_DCHECK(scanned_ <= buf.size());
  const size_t end = std::min(buf.size(), max_head_bytes);
  for (size_t i = scanned_; i < end; ++i) {
    const auto c = static_cast<unsigned char>(buf[i]);
    const bool after_cr = i > 0 && buf[i - 1] == '\r';
    if (IsForbidden(c) || (after_cr && c != '\n') || (c == '\n' && !after_cr)) {
      scanned_ = static_cast<uint32_t>(i + 1);
      return Step::kParse;  // the parser names what is wrong
    }
    if (c != '\n') continue;
    const bool blank = i - 1 == line_start_;  // the line is just its CRLF
    line_start_ = static_cast<uint32_t>(i + 1);
    scanned_ = static_cast<uint32_t>(i + 1);
    if (!request_line_done_ || blank) {
      request_line_done_ = true;
      return Step::kParse;  // the request line to check, or the end of the head
    }
  }
  scanned_ = static_cast<uint32_t>(std::max<size_t>(scanned_, end));
  return buf.size() >= max_head_bytes ? Step::kParse : Step::kMore;
}

}  // namespace ringcast::net
