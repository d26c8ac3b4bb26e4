// HttpHeadScanner: finds where an HTTP request head ends in a buffer that
// grows as bytes arrive, looking at each byte once. A client may send its
// head one byte per packet; parsing the whole head again on every receive
// would cost O(n^2) for an n-byte head (8 KB trickled: 32 M byte reads), so
// the connection keeps one scanner while its head is partial and the full
// parser (ParseHttpHead) runs only when the scanner says it is worth it.
//
// Scan says kParse when:
//   - the head is complete (the first CRLF CRLF, or a blank line right after
//     the request line's CRLF);
//   - the request line is complete (once), so a malformed one is refused
//     without waiting for the rest of the head;
//   - a byte arrived that no valid head holds (a bare LF, a CR not followed
//     by LF, a control character other than tab): the parser then names the
//     error;
//   - max_head_bytes are buffered without an end (the parser answers
//     kTooLarge).
// Otherwise kMore: wait for more bytes. So a head is parsed at most three
// times, whatever the number of receives.
//
// Invariant: the caller passes the same buffer again, only longer (bytes
// appended, none changed or removed); after consuming a request it starts a
// new scanner (Reset) for what follows. Plain data; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringcast::net {

class HttpHeadScanner {
 public:
  enum class Step : uint8_t { kMore, kParse };

  // Scans the bytes of `buf` past scanned() (at most up to max_head_bytes).
  [[nodiscard]] Step Scan(std::string_view buf, size_t max_head_bytes);

  // How far the buffer has been looked at: where the next Scan starts.
  size_t scanned() const { return scanned_; }
  void Reset() { *this = HttpHeadScanner{}; }

 private:
  uint32_t scanned_ = 0;
  uint32_t line_start_ = 0;  // offset where the current line starts
  bool request_line_done_ = false;
};

}  // namespace ringcast::net
