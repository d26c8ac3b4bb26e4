#include "net/http_head.h"

#include <charconv>

#include "core/check.h"

namespace ringcast::net {
namespace {

constexpr HttpParseResult kOk{HttpParseStatus::kComplete, {}};
constexpr HttpParseResult kNeedMore{HttpParseStatus::kIncomplete, {}};

constexpr HttpParseResult Bad(std::string_view why) { return {HttpParseStatus::kBad, why}; }

constexpr bool IsOk(const HttpParseResult& r) { return r.status == HttpParseStatus::kComplete; }

constexpr unsigned char ToLower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + ('a' - 'A')) : c;
}

// tchar per RFC 9110 5.6.2: ALPHA / DIGIT / one of "!#$%&'*+-.^_`|~".
constexpr std::array<bool, 256> kTcharTable = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

constexpr bool IsTchar(unsigned char c) { return kTcharTable[c]; }

constexpr bool IsVisibleAscii(unsigned char c) { return c >= 0x21 && c <= 0x7e; }

constexpr bool IsOws(unsigned char c) { return c == ' ' || c == '\t'; }

// field-vchar / SP / HTAB, obs-text allowed (RFC 9110 5.5); all other CTLs are not.
constexpr bool IsFieldValueChar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && IsOws(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Reads forward through a window that already excludes bytes past the head
// limit, so "at end" means either "need more bytes" or "over the limit"; the
// caller decides which.
class HeadScanner {
 public:
  explicit HeadScanner(std::string_view in) : in_(in) {}

  size_t pos() const { return pos_; }

  HttpParseResult ParseRequestLine(HttpRequest* out);
  // Parses one header line or the final blank line; sets *done on the latter.
  HttpParseResult ParseHeaderLine(HttpRequest* out, bool* done);

 private:
  bool AtEnd() const { return pos_ >= in_.size(); }
  unsigned char Peek() const {
    RC_DCHECK(!AtEnd());
    return static_cast<unsigned char>(in_[pos_]);
  }

  template <typename Pred>
  std::string_view TakeWhile(Pred pred) {
    const size_t start = pos_;
    while (!AtEnd() && pred(Peek())) ++pos_;
    return in_.substr(start, pos_ - start);
  }

  HttpParseResult ExpectCrlf();
  HttpParseResult ParseVersion(HttpRequest* out);

  std::string_view in_;
  size_t pos_ = 0;
};

HttpParseResult HeadScanner::ExpectCrlf() {
  if (AtEnd()) return kNeedMore;
  if (Peek() == '\n') return Bad("bare LF line ending");
  if (Peek() != '\r') return Bad("expected CRLF");
  ++pos_;
  if (AtEnd()) return kNeedMore;
  if (Peek() != '\n') return Bad("bare CR");
  ++pos_;
  return kOk;
}

HttpParseResult HeadScanner::ParseVersion(HttpRequest* out) {
  static constexpr std::string_view kPrefix = "HTTP/1.";
  for (char expected : kPrefix) {
    if (AtEnd()) return kNeedMore;
    if (Peek() != static_cast<unsigned char>(expected)) return Bad("unsupported HTTP version");
    ++pos_;
  }
  if (AtEnd()) return kNeedMore;
  const unsigned char minor = Peek();
  if (minor != '0' && minor != '1') return Bad("unsupported HTTP version");
  out->version_minor = minor - '0';
  ++pos_;
  return kOk;
}

HttpParseResult HeadScanner::ParseRequestLine(HttpRequest* out) {
  out->method = TakeWhile(IsTchar);
  if (AtEnd()) return kNeedMore;
  if (out->method.empty() || Peek() != ' ') return Bad("bad method");
  ++pos_;

  out->target = TakeWhile(IsVisibleAscii);
  if (!out->target.empty() && out->target.front() != '/') return Bad("target must start with '/'");
  if (AtEnd()) return kNeedMore;
  if (out->target.empty() || Peek() != ' ') return Bad("bad request target");
  ++pos_;
  const size_t question = out->target.find('?');
  out->path = out->target.substr(0, question);
  out->query =
      question == std::string_view::npos ? std::string_view{} : out->target.substr(question + 1);

  if (HttpParseResult r = ParseVersion(out); !IsOk(r)) return r;
  return ExpectCrlf();
}

HttpParseResult HeadScanner::ParseHeaderLine(HttpRequest* out, bool* done) {
  *done = false;
  if (AtEnd()) return kNeedMore;
  const unsigned char first = Peek();
  if (first == '\r' || first == '\n') {
    if (HttpParseResult r = ExpectCrlf(); !IsOk(r)) return r;
    *done = true;
    return kOk;
  }
  if (IsOws(first)) return Bad("obs-fold or whitespace before header name");
  if (out->header_count == kMaxHttpHeaders) {
    return {HttpParseStatus::kTooLarge, "too many header fields"};
  }

  const std::string_view name = TakeWhile(IsTchar);
  if (AtEnd()) return kNeedMore;
  if (Peek() != ':') {
    if (IsOws(Peek())) return Bad("whitespace before ':'");
    return Bad(name.empty() ? "empty or bad header name" : "bad header name");
  }
  if (name.empty()) return Bad("empty header name");
  ++pos_;

  const std::string_view raw = TakeWhile(IsFieldValueChar);
  if (AtEnd()) return kNeedMore;
  if (Peek() == '\n') return Bad("bare LF line ending");
  if (Peek() != '\r') return Bad("control character in header value");
  if (HttpParseResult r = ExpectCrlf(); !IsOk(r)) return r;

  out->headers[out->header_count++] = HttpHeader{name, TrimOws(raw)};
  return kOk;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(static_cast<unsigned char>(a[i])) != ToLower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view HttpRequest::Header(std::string_view name) const {
  RC_DCHECK(header_count <= kMaxHttpHeaders);
  for (size_t i = 0; i < header_count; ++i) {
    if (EqualsIgnoreCase(headers[i].name, name)) return headers[i].value;
  }
  return {};
}

size_t HttpRequest::HeaderCount(std::string_view name) const {
  RC_DCHECK(header_count <= kMaxHttpHeaders);
  size_t n = 0;
  for (size_t i = 0; i < header_count; ++i) n += EqualsIgnoreCase(headers[i].name, name) ? 1 : 0;
  return n;
}

bool HttpRequest::HeaderHasToken(std::string_view name, std::string_view token) const {
  RC_DCHECK(header_count <= kMaxHttpHeaders);
  for (size_t i = 0; i < header_count; ++i) {
    if (!EqualsIgnoreCase(headers[i].name, name)) continue;
    std::string_view rest = headers[i].value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view element = TrimOws(rest.substr(0, comma));
      if (!element.empty() && EqualsIgnoreCase(element, token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

HttpBodyFraming BodyFraming(const HttpRequest& req) {
  if (req.HeaderCount("Transfer-Encoding") > 0) {
    return {411, "Transfer-Encoding is not supported: send the body with Content-Length", 0};
  }
  const size_t lengths = req.HeaderCount("Content-Length");
  if (lengths == 0) return {};
  if (lengths > 1) return {400, "more than one Content-Length", 0};
  const std::string_view value = req.Header("Content-Length");
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
    return {400, "Content-Length is not a number", 0};
  }
  return {0, {}, n};
}

HttpParseResult ParseHttpHead(std::string_view buf, size_t max_head_bytes, HttpRequest* out) {
  RC_CHECK(out != nullptr);
  *out = HttpRequest{};
  HeadScanner scanner(buf.substr(0, max_head_bytes));

  HttpParseResult result = scanner.ParseRequestLine(out);
  bool done = false;
  while (IsOk(result) && !done) result = scanner.ParseHeaderLine(out, &done);

  if (result.status == HttpParseStatus::kIncomplete && buf.size() >= max_head_bytes) {
    return {HttpParseStatus::kTooLarge, "request head too large"};
  }
  if (!IsOk(result)) return result;
  out->head_bytes = scanner.pos();
  RC_DCHECK(out->head_bytes <= max_head_bytes && out->head_bytes <= buf.size());
  return kOk;
}

}  // namespace ringcast::net
