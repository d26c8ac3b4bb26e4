// libFuzzer target for whole sessions: the input is decoded into a script of
// client actions against a simulated cluster of two shards running the real
// ShardParts (tests/support/sim_cluster.h): connections opened with upgrade
// heads (templates with fuzzed ?user=, or raw bytes), HTTP API requests, raw
// bytes, masked frames around fuzzed payloads, commands from a small grammar
// (sub/unsub/pub/send/req/res/presence/ping with fuzzed rooms, users, rids and
// data), close frames, peer closes, stalled readers, rounds of one shard or
// both (so bus messages wait or flow), time moving on, a shard draining, a
// shard whose bus refuses new work. After every round it checks what a
// client relies on:
//   - every byte a connection receives parses: HTTP responses (status line,
//     headers without stray CR/LF, Content-Length body; JSON bodies are valid
//     JSON), then after a 101 only unfragmented, unmasked server frames with
//     known opcodes and minimal lengths, nothing after a close frame;
//   - every text frame is valid UTF-8 and one valid JSON object with an "op"
//     string (simdjson): what a client supplied leaves escaped;
//   - a close frame has a valid code and a UTF-8 reason;
//   - per connection, queued bytes stay within 16 x limits.max_queued_bytes
//     (the burst bound of Sessions) plus one frame, and the shard's total is
//     the sum of its connections';
//   - at the end, once every peer has closed and time has passed, every shard
//     is empty: no connection, no queued byte, no owned room, no bus message.
// A broken invariant prints the reason and aborts (a libFuzzer crash).
//
// RINGCAST_SESSION_FUZZ_TRACE=1 prints what every client writes and reads.
// Seeds: tests/fuzz/session_seeds.py writes tests/fuzz/corpus/session/.
#include <fuzzer/FuzzedDataProvider.h>
#include <simdjson.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "shard/server.h"
#include "tests/support/sim_cluster.h"

namespace ringcast::shard {
namespace {

constexpr unsigned kShards = 2;
constexpr size_t kMaxClients = 8;      // client slots a script addresses
constexpr size_t kMaxSockets = 48;     // sockets opened per input (the shards hold 64 each)
constexpr size_t kMaxSteps = 96;       // actions per input
constexpr uint64_t kBurstFactor = 16;  // Sessions: queued past this x the limit closes at once
constexpr std::string_view kApiKey = "k3y";

// Small limits, so that rate limits, slow consumers, 1009, 431 and 413 are
// reachable with small inputs; two namespaces besides the default: "h" keeps
// history (with a TTL, so its rooms go away again), "q" has neither presence
// nor client publishing.
ServerOptions Options() {
  ServerOptions o;
  o.node_id = "fz";
  o.max_message_bytes = 2048;
  o.max_queued_bytes = 4096;
  o.max_head_bytes = 1024;
  o.max_connections_per_shard = 64;
  o.max_subscriptions_per_connection = 6;
  o.commands_per_second = 40;
  o.command_burst = 24;
  o.rate_limit_grace_ms = 1500;
  o.max_body_bytes = 1024;
  o.ping_interval_ms = 2000;
  o.idle_timeout_ms = 5000;
  o.handshake_timeout_ms = 1000;
  o.drain_timeout_ms = 1000;
  o.api_key = std::string(kApiKey);
  o.events_room = "events";
  o.presence_leave_delay_ms = 300;
  o.namespaces["h"] = NamespaceOptions{4, 2, true, true};
  o.namespaces["q"] = NamespaceOptions{0, 0, false, false};
  return o;
}

// What a reproducer or a seed does, step by step (see the top).
bool Trace() {
  static const bool trace = [] {
    const char* v = std::getenv("RINGCAST_SESSION_FUZZ_TRACE");
    return v != nullptr && v[0] == '1';
  }();
  return trace;
}

void TraceBytes(const char* what, int fd, std::string_view bytes) {
  if (!Trace()) return;
  std::fprintf(stderr, "%s fd %d (%zu): ", what, fd, bytes.size());
  for (size_t i = 0; i < bytes.size() && i < 400; ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    if (b >= 0x20 && b < 0x7f) {
      std::fputc(b, stderr);
    } else {
      std::fprintf(stderr, "\\x%02x", b);
    }
  }
  std::fputc('\n', stderr);
}

[[noreturn]] void Violation(const std::string& what, std::string_view bytes) {
  std::fprintf(stderr, "session_fuzz: invariant broken: %s\n  bytes (%zu):", what.c_str(),
               bytes.size());
  for (size_t i = 0; i < bytes.size() && i < 512; ++i) {
    std::fprintf(stderr, " %02x", static_cast<unsigned char>(bytes[i]));
  }
  std::fprintf(stderr, "\n");
  std::abort();
}

// Things the checker learned from the server that later commands reuse.
struct Seen {
  std::vector<std::string> rids;    // from req frames
  std::vector<std::string> epochs;  // from ok frames of history rooms
};

// What one client has read of its socket's output so far.
class WireChecker {
 public:
  // What the client wrote: HEAD requests change how responses parse.
  void Wrote(std::string_view bytes) {
    if (bytes.find("HEAD") != std::string_view::npos) sent_head_ = true;
  }

  // Checks the bytes that arrived since the last call.
  void Check(int fd, std::string_view out, Seen* seen) {
    if (pos_ < out.size()) TraceBytes("  read", fd, out.substr(pos_));
    while (pos_ < out.size()) {
      if (closed_) Violation("bytes after the close frame", out.substr(pos_));
      bool progressed = ws_ ? Frame(out, seen) : Response(out, seen);
      if (!progressed) return;
    }
  }

 private:
  bool Response(std::string_view out, Seen* seen) {
    std::string_view rest = out.substr(pos_);
    size_t end = rest.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (rest.size() > 65536) Violation("an HTTP head that never ends", rest.substr(0, 256));
      return false;
    }
    std::string_view head = rest.substr(0, end);
    if (head.substr(0, 9) != "HTTP/1.1 " || head.size() < 12) {
      Violation("not an HTTP/1.1 status line", head);
    }
    int status = 0;
    for (size_t i = 9; i < 12; ++i) {
      char ch = head[i];
      if (ch < '0' || ch > '9') Violation("bad status code", head);
      status = status * 10 + (ch - '0');
    }
    size_t body_bytes = 0;
    bool json = false;
    size_t line_start = head.find("\r\n");
    while (line_start != std::string_view::npos) {
      line_start += 2;
      size_t line_end = head.find("\r\n", line_start);
      std::string_view line =
          head.substr(line_start, line_end == std::string_view::npos ? std::string_view::npos
                                                                     : line_end - line_start);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) Violation("bad header line", line);
      for (char ch : line) {
        if (ch == '\r' || ch == '\n' || ch == '\0') Violation("CR, LF or NUL in a header", line);
      }
      std::string name(line.substr(0, colon));
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (name == "content-length") {
        body_bytes = 0;
        for (char ch : value) {
          if (ch < '0' || ch > '9') Violation("bad Content-Length", line);
          body_bytes = body_bytes * 10 + static_cast<size_t>(ch - '0');
        }
      } else if (name == "content-type") {
        json = value.substr(0, 16) == "application/json";
      }
      line_start = line_end;
    }
    if (status == 101) {
      pos_ += end + 4;
      ws_ = true;
      return true;
    }
    // A response to HEAD carries the Content-Length of the GET answer and no
    // body: when this client sent HEAD, a status line right after the head
    // means the body is not coming.
    if (sent_head_ && body_bytes > 0 && rest.substr(end + 4, 9) == "HTTP/1.1 ") {
      body_bytes = 0;
      json = false;
    }
    if (rest.size() < end + 4 + body_bytes) return false;
    std::string_view body = rest.substr(end + 4, body_bytes);
    if (json) Text(body, seen, "HTTP body");
    pos_ += end + 4 + body_bytes;
    return true;
  }

  bool Frame(std::string_view out, Seen* seen) {
    std::string_view rest = out.substr(pos_);
    if (rest.size() < 2) return false;
    auto b0 = static_cast<uint8_t>(rest[0]);
    auto b1 = static_cast<uint8_t>(rest[1]);
    if ((b0 & 0xf0) != 0x80) Violation("server frame not FIN or with RSV bits", rest.substr(0, 2));
    if ((b1 & 0x80) != 0) Violation("masked server frame", rest.substr(0, 2));
    uint8_t opcode = b0 & 0x0f;
    if (opcode != 0x1 && opcode != 0x8 && opcode != 0x9 && opcode != 0xa) {
      Violation("server frame with opcode " + std::to_string(opcode), rest.substr(0, 2));
    }
    size_t header = 2;
    uint64_t len = b1 & 0x7f;
    if (len >= 126) {
      header = len == 126 ? 4 : 10;
      if (rest.size() < header) return false;
      len = 0;
      for (size_t i = 2; i < header; ++i) len = (len << 8) | static_cast<uint8_t>(rest[i]);
      if ((header == 4 && len < 126) || (header == 10 && len <= 0xffff)) {
        Violation("non-minimal frame length", rest.substr(0, header));
      }
    }
    if (opcode >= 0x8 && len > 125) Violation("control frame over 125 bytes", rest.substr(0, 2));
    if (rest.size() - header < len) return false;
    std::string_view payload = rest.substr(header, static_cast<size_t>(len));
    if (opcode == 0x1) {
      Text(payload, seen, "text frame");
    } else if (opcode == 0x8) {
      Close(payload);
      closed_ = true;
    }
    pos_ += header + static_cast<size_t>(len);
    return true;
  }

  static void Close(std::string_view payload) {
    if (payload.empty()) return;
    if (payload.size() < 2) Violation("close payload of one byte", payload);
    unsigned code = (static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]);
    bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
                 (code >= 3000 && code <= 4999);
    if (!valid) Violation("close code " + std::to_string(code), payload);
    if (!simdjson::validate_utf8(payload.data() + 2, payload.size() - 2)) {
      Violation("close reason not UTF-8", payload);
    }
  }

  void Text(std::string_view text, Seen* seen, const char* where) {
    if (!simdjson::validate_utf8(text.data(), text.size())) {
      Violation(std::string(where) + " not UTF-8", text);
    }
    simdjson::padded_string padded(text);
    simdjson::dom::element doc;
    if (parser_.parse(padded).get(doc) != simdjson::SUCCESS) {
      Violation(std::string(where) + " not valid JSON", text);
    }
    if (!doc.is_object()) Violation(std::string(where) + " not a JSON object", text);
    if (where[0] == 'H') return;  // HTTP bodies have no op
    std::string_view op;
    if (doc["op"].get(op) != simdjson::SUCCESS) Violation("text frame without op", text);
    std::string_view value;
    if (op == "req" && doc["rid"].get(value) == simdjson::SUCCESS && seen->rids.size() < 64) {
      seen->rids.emplace_back(value);
    }
    if (op == "ok" && doc["epoch"].get(value) == simdjson::SUCCESS && seen->epochs.size() < 16) {
      seen->epochs.emplace_back(value);
    }
  }

  size_t pos_ = 0;
  bool sent_head_ = false;
  bool ws_ = false;
  bool closed_ = false;
  simdjson::dom::parser parser_;
};

// The script: one action per step, decoded from the input.
class SessionScript {
 public:
  explicit SessionScript(FuzzedDataProvider* in) : in_(in), cluster_(Options(), kShards) {}

  void Run() {
    for (size_t step = 0; step < kMaxSteps && in_->remaining_bytes() > 0; ++step) Step();
    Finish();
  }

 private:
  void Step() {
    switch (in_->ConsumeIntegralInRange<int>(0, 17)) {
      case 0:
      case 1:
        OpenWebSocket();
        break;
      case 2:
        OpenHttp();
        break;
      case 3:
        OpenRaw();
        break;
      case 4:
      case 5:
      case 6:
        if (Client* c = Pick()) Write(c, TextCommandFrame());
        break;
      case 7:
        if (Client* c = Pick()) Write(c, FuzzedFrame());
        break;
      case 8:
        if (Client* c = Pick()) Write(c, in_->ConsumeRandomLengthString(256));
        break;
      case 9:
        if (Client* c = Pick()) Write(c, HttpRequest());
        break;
      case 10:
        if (Client* c = Pick()) Write(c, CloseFrame());
        break;
      case 11:
        if (Client* c = Pick()) cluster_.Socket(c->fd).eof = true;
        break;
      case 12:
        if (Client* c = Pick()) cluster_.Socket(c->fd).stalled ^= true;
        break;
      case 13:
        cluster_.clock().Advance(in_->ConsumeIntegralInRange<uint64_t>(1, 4000));
        Rounds(1);
        break;
      case 14:  // one shard only: its bus messages wait for the other
        RoundOf(in_->ConsumeIntegralInRange<unsigned>(0, kShards - 1));
        break;
      case 16:  // lame-duck mode: bye + 1001 to everyone, 503 to newcomers
        cluster_.shard(in_->ConsumeIntegralInRange<unsigned>(0, kShards - 1)).RequestStop();
        break;
      case 17: {  // a shard's bus backlogged: new work toward any shard is refused
        unsigned shard = in_->ConsumeIntegralInRange<unsigned>(0, kShards - 1);
        admits_[shard] = !admits_[shard];
        cluster_.shard(shard).set_admits(admits_[shard]);
        break;
      }
      case 15:
        Rounds(in_->ConsumeIntegralInRange<int>(1, 4));
        break;
    }
  }

  struct Client {
    int fd = -1;
    WireChecker checker;
  };

  // ------------------------------------------------------------- connections

  Client* Pick() {
    size_t i = in_->ConsumeIntegralInRange<size_t>(0, kMaxClients - 1);
    return clients_[i].fd >= 0 ? &clients_[i] : nullptr;
  }

  Client* Open() {
    if (opened_ >= kMaxSockets) return nullptr;
    size_t i = in_->ConsumeIntegralInRange<size_t>(0, kMaxClients - 1);
    unsigned shard = in_->ConsumeIntegralInRange<unsigned>(0, kShards - 1);
    if (clients_[i].fd >= 0) retired_.push_back(std::move(clients_[i]));  // still checked
    clients_[i] = Client{};
    clients_[i].fd = cluster_.OpenSocket(shard);
    ++opened_;
    return &clients_[i];
  }

  void Write(Client* c, std::string_view bytes) {
    TraceBytes("write", c->fd, bytes);
    c->checker.Wrote(bytes);
    cluster_.Socket(c->fd).input.append(bytes);
  }

  void OpenWebSocket() {
    Client* c = Open();
    if (c == nullptr) return;
    std::string target = "/ws";
    std::string extra;
    switch (in_->ConsumeIntegralInRange<int>(0, 5)) {
      case 0:
        break;  // anonymous
      case 1:
      case 2:
        target += "?user=" + Pick({"alice", "bob", "carol", "dave"});
        break;
      case 3:
        target += "?user=" + PercentEncoded(in_->ConsumeRandomLengthString(24));
        break;
      case 4:
        extra += "Authorization: apikey " + std::string(kApiKey) + "\r\n";
        break;
      default:
        target += "?" + Token(in_->ConsumeRandomLengthString(48));
        break;
    }
    if (in_->ConsumeBool())
      extra += "Origin: " + Token(in_->ConsumeRandomLengthString(16)) + "\r\n";
    std::string head =
        "GET " + target +
        " HTTP/1.1\r\nHost: fz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        extra + "\r\n";
    Write(c, head);
  }

  void OpenHttp() {
    Client* c = Open();
    if (c != nullptr) Write(c, HttpRequest());
  }

  void OpenRaw() {
    Client* c = Open();
    if (c != nullptr) Write(c, in_->ConsumeRandomLengthString(512));
  }

  // ----------------------------------------------------------------- strings

  std::string Pick(std::initializer_list<const char*> choices) {
    size_t i = in_->ConsumeIntegralInRange<size_t>(0, choices.size() - 1);
    return *(choices.begin() + i);
  }

  static std::string PercentEncoded(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : bytes) {
      auto b = static_cast<unsigned char>(ch);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
    return out;
  }

  // Bytes that may stand in a request target or header value as they are.
  static std::string Token(std::string_view bytes) {
    std::string out;
    for (char ch : bytes) {
      auto b = static_cast<unsigned char>(ch);
      if (b > 0x20 && b != 0x7f) out.push_back(ch);
    }
    return out;
  }

  // A JSON string literal: escaped fuzz bytes (any byte; \u escapes for
  // controls, sometimes a lone surrogate or \u0000), or raw bytes unescaped.
  std::string JsonString(std::string_view bytes) {
    int how = in_->ConsumeIntegralInRange<int>(0, 7);
    std::string out = "\"";
    if (how == 0) {  // raw: invalid JSON or UTF-8 is the server's to refuse
      out.append(bytes);
    } else {
      for (char ch : bytes) {
        auto b = static_cast<unsigned char>(ch);
        if (b == '"' || b == '\\') {
          out.push_back('\\');
          out.push_back(ch);
        } else if (b < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", b);
          out.append(esc);
        } else {
          out.push_back(ch);
        }
      }
      if (how == 1) out.append("\\ud800");
      if (how == 2) out.append("\\u0000\\n\\\"'<>");
      if (how == 3) out.append("\\ud83d\\ude00");
    }
    return out + "\"";
  }

  std::string Room() {
    switch (in_->ConsumeIntegralInRange<int>(0, 9)) {
      case 0:
      case 1:
        return "\"lobby\"";
      case 2:
        return "\"h:log\"";
      case 3:
        return "\"q:quiet\"";
      case 4:
        return "\"@alice\"";
      case 5:
        return "\"events\"";
      case 6:
        return "\"h:" + std::to_string(in_->ConsumeIntegralInRange<int>(0, 3)) + "\"";
      case 7:
        return "\"r" + std::to_string(in_->ConsumeIntegralInRange<int>(0, 7)) + "\"";
      case 8:
        return std::to_string(in_->ConsumeIntegral<int8_t>());  // wrong type
      default:
        return JsonString(in_->ConsumeRandomLengthString(40));
    }
  }

  std::string User() {
    switch (in_->ConsumeIntegralInRange<int>(0, 6)) {
      case 0:
        return "\"alice\"";
      case 1:
        return "\"bob\"";
      case 2:
        return "\"carol\"";
      case 3:
        return "\"$server\"";
      case 4:
        return "\"nobody\"";
      default:
        return JsonString(in_->ConsumeRandomLengthString(24));
    }
  }

  std::string Data() {
    switch (in_->ConsumeIntegralInRange<int>(0, 7)) {
      case 0:
        return "1";
      case 1:
        return "{\"text\":\"hi\",\"n\":[1,2.5e3,null,true]}";
      case 2:
        return "null";
      case 3:
        return "[" + JsonString(in_->ConsumeRandomLengthString(32)) + "]";
      case 4:
        return std::string(in_->ConsumeIntegralInRange<size_t>(0, 80), '[') + "]";
      case 5:  // large: fills queues and reaches max_message_bytes
        return "\"" + std::string(in_->ConsumeIntegralInRange<size_t>(100, 2100), 'x') + "\"";
      case 6:
        return in_->ConsumeRandomLengthString(24);  // raw: maybe not JSON at all
      default:
        return JsonString(in_->ConsumeRandomLengthString(48));
    }
  }

  std::string Id() {
    switch (in_->ConsumeIntegralInRange<int>(0, 5)) {
      case 0:
        return "";
      case 1:
        return ",\"id\":-1";
      case 2:
        return ",\"id\":\"7\"";
      case 3:
        return ",\"id\":18446744073709551615";
      default:
        return ",\"id\":" + std::to_string(in_->ConsumeIntegralInRange<uint32_t>(0, 99));
    }
  }

  std::string To() {
    int n = in_->ConsumeIntegralInRange<int>(0, 4);
    if (n == 0) return User();
    std::string out = "[";
    for (int i = 0; i < n; ++i) out += (i ? "," : "") + User();
    return out + "]";
  }

  std::string Rid() {
    if (!seen_.rids.empty() && in_->ConsumeBool()) {
      return "\"" + seen_.rids[in_->ConsumeIntegralInRange<size_t>(0, seen_.rids.size() - 1)] +
             "\"";
    }
    return JsonString(in_->ConsumeRandomLengthString(12));
  }

  std::string Since() {
    std::string epoch = !seen_.epochs.empty() && in_->ConsumeBool()
                            ? "\"" + seen_.epochs.back() + "\""
                            : JsonString(in_->ConsumeRandomLengthString(12));
    return ",\"since\":{\"seq\":" + std::to_string(in_->ConsumeIntegralInRange<int>(0, 9)) +
           ",\"epoch\":" + epoch + "}";
  }

  // One command line from the grammar. Every draw from the input is its own
  // statement: the order of operands of + is unspecified, and the seed
  // generator (session_seeds.py) must draw in the same order.
  std::string Command() {
    std::string out;
    switch (in_->ConsumeIntegralInRange<int>(0, 9)) {
      case 0:
        out = "{\"op\":\"sub\",\"room\":" + Room();
        if (in_->ConsumeBool()) out += Since();
        if (in_->ConsumeBool()) out += ",\"presence\":true";
        break;
      case 1:
        out = "{\"op\":\"unsub\",\"room\":" + Room();
        break;
      case 2:
      case 3:
        out = "{\"op\":\"pub\",\"room\":" + Room();
        out += ",\"data\":" + Data();
        if (in_->ConsumeBool()) out += ",\"echo\":false";
        break;
      case 4:
        out = "{\"op\":\"send\",\"to\":" + To();
        out += ",\"data\":" + Data();
        break;
      case 5:
        out = "{\"op\":\"req\",\"to\":" + To();
        out += ",\"data\":" + Data();
        out += ",\"timeout_ms\":" + std::to_string(in_->ConsumeIntegralInRange<int>(0, 70000));
        break;
      case 6:
        out = "{\"op\":\"res\",\"rid\":" + Rid();
        out += ",\"data\":" + Data();
        break;
      case 7:
        out = "{\"op\":\"presence\",\"room\":" + Room();
        break;
      case 8:
        out = "{\"op\":\"ping\"";
        break;
      default:
        out = "{\"op\":" + JsonString(in_->ConsumeRandomLengthString(8));
        break;
    }
    return out + Id() + "}";
  }

  // --------------------------------------------------------------- frames

  // A masked client frame; `length_form` 1/2 forces the 16/64-bit length.
  static std::string Masked(uint8_t b0, std::string_view payload, bool mask, int length_form,
                            uint32_t key) {
    std::string f;
    f.push_back(static_cast<char>(b0));
    uint8_t m = mask ? 0x80 : 0;
    size_t n = payload.size();
    if (n < 126 && length_form == 0) {
      f.push_back(static_cast<char>(m | n));
    } else if (n <= 0xffff && length_form != 2) {
      f.push_back(static_cast<char>(m | 126));
      f.push_back(static_cast<char>(n >> 8));
      f.push_back(static_cast<char>(n & 0xff));
    } else {
      f.push_back(static_cast<char>(m | 127));
      for (int shift = 56; shift >= 0; shift -= 8) {
        f.push_back(static_cast<char>((uint64_t{n} >> shift) & 0xff));
      }
    }
    if (!mask) return f.append(payload);
    char k[4] = {static_cast<char>(key >> 24), static_cast<char>(key >> 16),
                 static_cast<char>(key >> 8), static_cast<char>(key)};
    f.append(k, 4);
    for (size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ k[i % 4]));
    return f;
  }

  // One to three commands in one text frame, sometimes in two fragments with
  // a ping between them.
  std::string TextCommandFrame() {
    std::string text = Command();
    int more = in_->ConsumeIntegralInRange<int>(0, 2);
    for (int i = 0; i < more; ++i) {
      text += in_->ConsumeBool() ? "\r\n" : "\n";
      text += Command();
    }
    uint32_t key = in_->ConsumeIntegral<uint32_t>();
    if (text.size() < 2 || in_->ConsumeIntegralInRange<int>(0, 5) != 0) {
      return Masked(0x81, text, true, 0, key);
    }
    size_t cut = in_->ConsumeIntegralInRange<size_t>(1, text.size() - 1);
    std::string out = Masked(0x01, std::string_view(text).substr(0, cut), true, 0, key);
    if (in_->ConsumeBool()) out += Masked(0x89, "p", true, 0, key);
    return out + Masked(0x80, std::string_view(text).substr(cut), true, 0, key);
  }

  // Any opcode, flags, masking and length form around fuzzed bytes.
  std::string FuzzedFrame() {
    static constexpr uint8_t kOpcodes[] = {0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb};
    uint8_t opcode = kOpcodes[in_->ConsumeIntegralInRange<size_t>(0, 7)];
    uint8_t b0 = opcode | (in_->ConsumeIntegralInRange<int>(0, 7) != 0 ? 0x80 : 0);
    if (in_->ConsumeIntegralInRange<int>(0, 15) == 0) b0 |= 0x40;  // RSV1
    bool mask = in_->ConsumeIntegralInRange<int>(0, 15) != 0;
    int length_form = in_->ConsumeIntegralInRange<int>(0, 7) == 0 ? 2 : 0;
    uint32_t key = in_->ConsumeIntegral<uint32_t>();
    std::string payload = in_->ConsumeBool() ? Command() : in_->ConsumeRandomLengthString(300);
    return Masked(b0, payload, mask, length_form, key);
  }

  std::string CloseFrame() {
    static constexpr uint16_t kCodes[] = {1000, 1001, 1002, 1005, 999, 3000, 4000, 1015};
    uint16_t code = kCodes[in_->ConsumeIntegralInRange<size_t>(0, 7)];
    std::string payload;
    if (in_->ConsumeIntegralInRange<int>(0, 7) != 0) {
      payload.push_back(static_cast<char>(code >> 8));
      payload.push_back(static_cast<char>(code & 0xff));
      payload += in_->ConsumeRandomLengthString(130);
    }
    return Masked(0x88, payload, true, 0, in_->ConsumeIntegral<uint32_t>());
  }

  // ----------------------------------------------------------------- HTTP

  std::string HttpRequest() {
    std::string method = Pick({"GET", "POST", "POST", "PUT", "HEAD"});
    std::string body;
    std::string target;
    switch (in_->ConsumeIntegralInRange<int>(0, 7)) {
      case 0:
        target = "/healthz";
        break;
      case 1:
        target = "/api/publish";
        body = "{\"room\":" + Room();
        body += ",\"data\":" + Data() + "}";
        break;
      case 2:
        target = "/api/send";
        body = "{\"to\":" + To();
        body += ",\"data\":" + Data() + "}";
        break;
      case 3:
        target = "/api/disconnect";
        body = "{\"user\":" + User() + "}";
        break;
      case 4:
        target = "/api/presence?room=" + PercentEncoded(in_->ConsumeRandomLengthString(20));
        break;
      case 5:
        target = "/api/stats";
        break;
      case 6:
        target = "/api/presence?room=lobby";
        break;
      default:
        target = "/" + Token(in_->ConsumeRandomLengthString(32));
        body = in_->ConsumeRandomLengthString(64);
        break;
    }
    std::string out = method + " " + target + (in_->ConsumeBool() ? " HTTP/1.1" : " HTTP/1.0") +
                      "\r\nHost: fz\r\n";
    switch (in_->ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        break;
      case 1:
        out += "Authorization: apikey wrong\r\n";
        break;
      default:
        out += "Authorization: apikey " + std::string(kApiKey) + "\r\n";
        break;
    }
    if (in_->ConsumeBool()) out += "Connection: keep-alive\r\n";
    switch (in_->ConsumeIntegralInRange<int>(0, 3)) {  // the API takes JSON bodies only
      case 0:
        break;
      case 1:
        out += "Content-Type: text/plain\r\n";
        break;
      default:
        out += "Content-Type: application/json\r\n";
        break;
    }
    switch (in_->ConsumeIntegralInRange<int>(0, 7)) {
      case 0:
        out += "Transfer-Encoding: chunked\r\n";
        break;
      case 1:
        out +=
            "Content-Length: " + std::to_string(in_->ConsumeIntegralInRange<int>(0, 2000)) + "\r\n";
        break;
      default:
        if (!body.empty() || method == "POST") {
          out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        }
        break;
    }
    return out + "\r\n" + body;
  }

  // ----------------------------------------------------------------- rounds

  void RoundOf(unsigned shard) {
    cluster_.shard(shard).Round();
    CheckAll();
  }

  void Rounds(int n) {
    for (int i = 0; i < n; ++i) {
      for (unsigned s = 0; s < kShards; ++s) RoundOf(s);
    }
  }

  // Rounds until nothing is left to do (held sends of stalled peers aside).
  void Settle() {
    for (int i = 0; i < 400; ++i) {
      Rounds(1);
      bool busy = false;
      for (unsigned s = 0; s < kShards; ++s) busy = busy || cluster_.shard(s).HasWork();
      if (!busy) return;
    }
    Violation("the cluster did not settle in 400 rounds", "");
  }

  // ------------------------------------------------------------- invariants

  void CheckAll() {
    for (unsigned s = 0; s < kShards; ++s) CheckShard(cluster_.shard(s));
    for (Client& c : clients_) {
      if (c.fd >= 0) c.checker.Check(c.fd, cluster_.Socket(c.fd).output, &seen_);
    }
    for (Client& c : retired_) c.checker.Check(c.fd, cluster_.Socket(c.fd).output, &seen_);
  }

  void CheckShard(sim::SimShard& shard) {
    const ServerOptions& o = cluster_.options();
    const uint64_t bound = kBurstFactor * o.max_queued_bytes + o.max_message_bytes + 4096;
    uint64_t total = 0;
    shard.sessions().ForEach([&](uint32_t, Connection& c) {
      uint64_t queued = c.out.queued_bytes();
      total += queued;
      if (queued > bound) {
        Violation("a connection queues " + std::to_string(queued) + " bytes (bound " +
                      std::to_string(bound) + ")",
                  "");
      }
    });
    if (total != shard.sessions().queued_total()) {
      Violation("shard queued_total " + std::to_string(shard.sessions().queued_total()) +
                    " != sum over connections " + std::to_string(total),
                "");
    }
  }

  // Every peer goes away and time passes: the shards must end up empty.
  void Finish() {
    Settle();
    for (Client& c : clients_) {
      if (c.fd >= 0) retired_.push_back(std::move(c));
      c.fd = -1;
    }
    for (Client& c : retired_) {
      sim::FakeSocket& s = cluster_.Socket(c.fd);
      s.stalled = false;
      s.eof = true;
    }
    // Past every deadline: close handshakes, presence leave delay, request
    // timeouts (60 s at most), history TTL and the owner's once-a-second sweep.
    for (int i = 0; i < 40; ++i) {
      cluster_.clock().Advance(2000);
      Settle();
    }
    for (unsigned s = 0; s < kShards; ++s) {
      sim::SimShard& shard = cluster_.shard(s);
      std::string where = "after every peer closed, shard " + std::to_string(s) + " still has ";
      if (shard.sessions().size() != 0) {
        Violation(where + std::to_string(shard.sessions().size()) + " connections", "");
      }
      if (shard.sessions().queued_total() != 0) {
        Violation(where + std::to_string(shard.sessions().queued_total()) + " queued bytes", "");
      }
      if (shard.owner().rooms() != 0) {
        Violation(where + std::to_string(shard.owner().rooms()) + " owned rooms", "");
      }
      if (shard.stats().connections_open.load() != 0) {
        Violation(
            where + "connections_open " + std::to_string(shard.stats().connections_open.load()),
            "");
      }
      if (cluster_.QueuedFor(s) != 0) Violation(where + "bus messages waiting", "");
    }
    for (Client& c : retired_) {
      if (!cluster_.Socket(c.fd).closed) {
        Violation("fd " + std::to_string(c.fd) + " was never closed by the server", "");
      }
    }
  }

  FuzzedDataProvider* const in_;
  sim::Cluster cluster_;
  Client clients_[kMaxClients];
  std::vector<Client> retired_;  // replaced in their slot; still read and checked
  size_t opened_ = 0;
  bool admits_[kShards] = {true, true};
  Seen seen_;
};

}  // namespace
}  // namespace ringcast::shard

// libFuzzer's entropic schedule keeps every feature seen fewer than 255 times
// in a list that it searches linearly for each feature of each run. One
// session touches tens of thousands of features, so for the first minutes of
// a run (all of a CI run) that search takes about 70% of the time: 25 execs/s
// instead of 130. Entropic is off unless the command line says otherwise.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  static std::vector<char*> args;
  static char entropic_off[] = "-entropic=0";
  args.assign(*argv, *argv + *argc);
  for (char* arg : args) {
    if (std::string_view(arg).substr(0, 10) == "-entropic=") return 0;
  }
  args.push_back(entropic_off);
  args.push_back(nullptr);
  *argc = static_cast<int>(args.size() - 1);
  *argv = args.data();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  ringcast::shard::SessionScript script(&in);
  script.Run();
  return 0;
}
