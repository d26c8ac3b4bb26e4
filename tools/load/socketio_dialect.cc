// socket.io v4 over engine.io v4, websocket transport only (no HTTP long-polling first), so the
// generator can drive a plain socket.io server with the same scenarios as ringcast. One
// engine.io packet per WebSocket text frame; the first character is the engine.io type
// (0 open, 1 close, 2 ping, 3 pong, 4 message), a message's second the socket.io type
// (0 CONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR), then an optional ack id and the JSON.
//
//   server: 0{"sid":..,"pingInterval":..}   -> client answers 40 (connect the "/" namespace)
//   server: 40{"sid":..}                     -> the connection is ready (kWelcome)
//   server: 2                                -> client answers 3 (pong)
//   client: 42<id>["sub","ROOM"]             -> server: 43<id>[...]   (kOk with that id)
//   client: 42["pub",{"room":"ROOM","data":"PAYLOAD"}]
//   server: 42["msg",{"room":..,"from":..,"data":"PAYLOAD"}]          (kMsg)
//
// Answers the protocol needs (40, 3) go back through ServerEvent::reply. Stateless; any thread.
#include <charconv>

#include "tools/load/dialect.h"
#include "tools/load/payload.h"
#include "tools/load/ws_codec.h"

namespace ringcast::load {

namespace {

class SocketIoDialect final : public Dialect {
 public:
  std::string_view name() const override { return "socketio"; }

  // The engine.io endpoint: the URL's path if it names one (e.g. /socket.io/ or a custom
  // path), else the default /socket.io/; then EIO=4&transport=websocket.
  std::string UpgradeTarget(std::string_view url_path, std::string_view user) const override {
    std::string_view path = url_path.substr(0, url_path.find('?'));
    std::string_view query =
        url_path.size() > path.size() ? url_path.substr(path.size() + 1) : std::string_view();
    std::string target(path.find("socket.io") == std::string_view::npos ? "/socket.io/" : path);
    target.append("?EIO=4&transport=websocket");
    if (!query.empty()) target.append("&").append(query);
    if (!user.empty()) target.append("&user=").append(user);
    return target;
  }

  bool SendsWelcome() const override { return true; }

  void AppendSub(std::string* out, std::string_view room, uint64_t id,
                 uint32_t mask_key) const override {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), id);
    (void)ec;
    AppendClientText(out,
                     {"42", std::string_view(digits, static_cast<size_t>(end - digits)),
                      R"(["sub",")", room, R"("])"},
                     mask_key);
  }

  void AppendPub(std::string* out, std::string_view room, std::string_view payload,
                 uint32_t mask_key) const override {
    AppendClientText(out, {R"(42["pub",{"room":")", room, R"(","data":")", payload, R"("}])"},
                     mask_key);
  }

  void AppendSend(std::string* out, std::string_view to_user, std::string_view payload,
                  uint32_t mask_key) const override {
    AppendClientText(out, {R"(42["send",{"to":")", to_user, R"(","data":")", payload, R"("}])"},
                     mask_key);
  }

  ServerEvent Parse(std::string_view text) const override {
    ServerEvent ev;
    if (text.empty()) return ev;
    switch (text[0]) {
      case '0':  // engine.io open: connect the default namespace
        ev.reply = "40";
        return ev;
      case '2':  // engine.io ping ("2" or "2probe"): answer with the same data
        ev.reply = text.size() == 1 ? std::string_view("3") : std::string_view("3probe");
        return ev;
      case '4':
        break;
      default:  // 1 close, 3 pong, 5 upgrade, 6 noop
        return ev;
    }
    if (text.size() < 2) return ev;
    switch (text[1]) {
      case '0':  // CONNECT ack for "/" (a namespace would follow as "/nsp,")
        if (text.size() == 2 || text[2] == '{') ev.kind = ServerEvent::Kind::kWelcome;
        return ev;
      case '2': {  // EVENT: only "msg" matters
        size_t at = text.find('[');
        if (at == std::string_view::npos || !text.substr(at + 1).starts_with(R"("msg")")) return ev;
        ev.kind = ServerEvent::Kind::kMsg;
        size_t magic = LocatePayload(text.substr(at));
        if (magic != std::string_view::npos) ev.payload = text.substr(at + magic);
        return ev;
      }
      case '3': {  // ACK: 43<id>[...]
        const char* begin = text.data() + 2;
        uint64_t id = 0;
        auto [end, ec] = std::from_chars(begin, text.data() + text.size(), id);
        if (ec != std::errc() || end == begin) return ev;
        ev.id = id;
        // An ack whose first argument is an object with "error" is a refusal.
        std::string_view args(end, static_cast<size_t>(text.data() + text.size() - end));
        ev.kind =
            args.starts_with(R"([{"error")") ? ServerEvent::Kind::kError : ServerEvent::Kind::kOk;
        return ev;
      }
      case '4':  // CONNECT_ERROR
        ev.kind = ServerEvent::Kind::kError;
        ev.error_code = "connect_error";
        return ev;
      default:
        return ev;
    }
  }
};

}  // namespace

std::unique_ptr<Dialect> MakeSocketIoDialect() { return std::make_unique<SocketIoDialect>(); }

}  // namespace ringcast::load
