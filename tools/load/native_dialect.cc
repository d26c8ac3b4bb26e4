// The native ringcast protocol (docs/protocol.md): commands are JSON objects in text frames; the
// generator only needs `sub` (with an id, answered by `ok`), `pub`, `send`, and to recognise
// `welcome`, `ok`, `error` and `msg`. Parsing looks only at "op", "id", "code" and the payload
// magic inside "data", so field order and extra fields do not matter.
#include <charconv>

#include "tools/load/dialect.h"
#include "tools/load/payload.h"
#include "tools/load/ws_codec.h"

namespace ringcast::load {

namespace {

// The string value of "key":"..." (no escapes expected in the values looked at).
std::string_view StringField(std::string_view text, std::string_view quoted_key_colon) {
  size_t at = text.find(quoted_key_colon);
  if (at == std::string_view::npos) return {};
  at += quoted_key_colon.size();
  while (at < text.size() && text[at] == ' ') ++at;
  if (at >= text.size() || text[at] != '"') return {};
  size_t end = text.find('"', at + 1);
  if (end == std::string_view::npos) return {};
  return text.substr(at + 1, end - at - 1);
}

uint64_t UintField(std::string_view text, std::string_view quoted_key_colon) {
  size_t at = text.find(quoted_key_colon);
  if (at == std::string_view::npos) return 0;
  at += quoted_key_colon.size();
  while (at < text.size() && text[at] == ' ') ++at;
  uint64_t v = 0;
  std::from_chars(text.data() + at, text.data() + text.size(), v);
  return v;
}

class NativeDialect final : public Dialect {
 public:
  std::string_view name() const override { return "native"; }

  std::string UpgradeTarget(std::string_view url_path, std::string_view user) const override {
    std::string target(url_path);
    if (!user.empty()) {
      target.append(target.find('?') == std::string::npos ? "?user=" : "&user=").append(user);
    }
    return target;
  }

  bool SendsWelcome() const override { return true; }

  void AppendSub(std::string* out, std::string_view room, uint64_t id,
                 uint32_t mask_key) const override {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), id);
    (void)ec;
    AppendClientText(out,
                     {R"({"op":"sub","room":")", room, R"(","id":)",
                      std::string_view(digits, static_cast<size_t>(end - digits)), "}"},
                     mask_key);
  }

  void AppendPub(std::string* out, std::string_view room, std::string_view payload,
                 uint32_t mask_key) const override {
    AppendClientText(out, {R"({"op":"pub","room":")", room, R"(","data":")", payload, "\"}"},
                     mask_key);
  }

  void AppendSend(std::string* out, std::string_view to_user, std::string_view payload,
                  uint32_t mask_key) const override {
    AppendClientText(out, {R"({"op":"send","to":")", to_user, R"(","data":")", payload, "\"}"},
                     mask_key);
  }

  ServerEvent Parse(std::string_view text) const override {
    ServerEvent ev;
    // Fast path for ringcast's own field order; the general lookup handles any other.
    std::string_view op = text.starts_with(R"({"op":"msg")") ? std::string_view("msg")
                                                             : StringField(text, R"("op":)");
    if (op == "msg") {
      size_t at = LocatePayload(text);
      if (at != std::string_view::npos) ev.payload = text.substr(at);
      ev.kind = ServerEvent::Kind::kMsg;
    } else if (op == "ok") {
      ev.kind = ServerEvent::Kind::kOk;
      ev.id = UintField(text, R"("id":)");
    } else if (op == "error") {
      ev.kind = ServerEvent::Kind::kError;
      ev.id = UintField(text, R"("id":)");
      ev.error_code = StringField(text, R"("code":)");
    } else if (op == "welcome") {
      ev.kind = ServerEvent::Kind::kWelcome;
    }
    return ev;
  }
};

}  // namespace

std::unique_ptr<Dialect> MakeDialect(std::string_view name) {
  if (name == "native") return std::make_unique<NativeDialect>();
  if (name == "socketio") return MakeSocketIoDialect();
  return nullptr;
}

}  // namespace ringcast::load
