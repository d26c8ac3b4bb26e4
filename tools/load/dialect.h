// Dialect: how the load generator talks to a server, so one scenario engine can drive servers
// that speak different protocols over WebSocket. A dialect frames the few commands the
// scenarios need (subscribe with an id, publish, direct send) and classifies what the server
// sends back; anything it does not recognise is kOther and ignored, so servers that add frames
// of their own can still be measured. NativeDialect speaks docs/protocol.md (`sub`/`pub`/`send`);
// a socket.io dialect would add its engine.io open packet and ping answers behind the same
// calls. Implementations are stateless and const: one instance is shared by every thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ringcast::load {

struct ServerEvent {
  enum class Kind : uint8_t { kOther, kWelcome, kOk, kError, kMsg };
  Kind kind = Kind::kOther;
  uint64_t id = 0;              // kOk / kError: the command id (0 when absent)
  std::string_view payload;     // kMsg: from the generator's payload magic onwards, else empty
  std::string_view error_code;  // kError: the server's code when found
  std::string_view reply;       // non-empty: a text message to send back now (socket.io: 40, 3)
};

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string_view name() const = 0;
  // Request target for the upgrade, from the URL's path and the connection's user name.
  virtual std::string UpgradeTarget(std::string_view url_path, std::string_view user) const = 0;
  // Whether the server greets every connection first (the connection is ready only then).
  virtual bool SendsWelcome() const = 0;
  // Each Append* adds one complete masked client frame to *out.
  virtual void AppendSub(std::string* out, std::string_view room, uint64_t id,
                         uint32_t mask_key) const = 0;
  virtual void AppendPub(std::string* out, std::string_view room, std::string_view payload,
                         uint32_t mask_key) const = 0;
  virtual void AppendSend(std::string* out, std::string_view to_user, std::string_view payload,
                          uint32_t mask_key) const = 0;
  // Classifies one text message from the server.
  virtual ServerEvent Parse(std::string_view text) const = 0;
};

// nullptr for an unknown name. Known: "native", "socketio".
std::unique_ptr<Dialect> MakeDialect(std::string_view name);
std::unique_ptr<Dialect> MakeSocketIoDialect();  // socketio_dialect.cc

}  // namespace ringcast::load
