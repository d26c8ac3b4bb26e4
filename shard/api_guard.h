// ApiGuard: the HTTP API's defence against browsers (docs/protocol.md, HTTP
// API, Cross-site requests). Without api.key the API trusts loopback peers,
// and a browser on the same host is one: any page it shows may POST to
// http://127.0.0.1:PORT (a "simple" cross-site request: text/plain body, no
// preflight), and a DNS-rebinding page may even read the answers under its
// own name. So, on every route but /healthz:
//   - Host must name this server: api.hosts when set, else (without a key
//     only) localhost, 127.0.0.1, [::1] and the listen address. Refused with
//     421: a rebinding page's requests carry its own name.
//   - Origin, when present, must be one of `origins`; with no `origins`
//     configured any Origin is refused (without a key only): browsers send
//     Origin on every cross-site POST, backends do not send it at all. 403.
//   - POST bodies must be application/json (parameters such as charset
//     allowed), with or without a key: a browser sends that type
//     cross-site only after a CORS preflight, which the API never grants. 415.
// With api.key set, the key authenticates each request and browsers do not
// attach it by themselves, so Origin is not checked, and Host only when
// api.hosts is set. Built once per shard from the options; const after.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_head.h"
#include "shard/server.h"

namespace ringcast::shard {

class ApiGuard {
 public:
  struct Refusal {
    int status;  // 403, 415 or 421
    std::string_view reason;
  };

  explicit ApiGuard(const ServerOptions& options);

  // Host and Origin: why `req` must not reach an API route (anything but
  // /healthz), or nullopt.
  [[nodiscard]] std::optional<Refusal> CheckSite(const net::HttpRequest& req) const;
  // The Content-Type of a POST to an API route (checked after the method).
  [[nodiscard]] static std::optional<Refusal> CheckBody(const net::HttpRequest& req);

  // Host names the API answers to; empty when any Host is accepted.
  const std::vector<std::string>& hosts() const { return hosts_; }

 private:
  bool HostAllowed(const net::HttpRequest& req) const;
  bool OriginAllowed(const net::HttpRequest& req) const;

  const ServerOptions& options_;
  std::vector<std::string> hosts_;  // "name" (any port) or "name:port", names bracketed if IPv6
  bool check_origin_;
};

// Host header syntax (RFC 9110 7.2): a name, an IPv4 address or a bracketed
// IPv6 address, then an optional ":port". Splits it; false when malformed.
[[nodiscard]] bool SplitHostHeader(std::string_view value, std::string_view* name,
                                   std::string_view* port);

}  // namespace ringcast::shard
