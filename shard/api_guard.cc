#include "shard/api_guard.h"

#include <algorithm>

namespace ringcast::shard {

namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

bool IsPort(std::string_view s) {
  return s.size() <= 5 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool SplitHostHeader(std::string_view value, std::string_view* name, std::string_view* port) {
  std::string_view rest;
  if (!value.empty() && value.front() == '[') {
    const size_t close = value.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : value.substr(1, close - 1)) {
      if (!(c == ':' || c == '.' || IsNameChar(c))) return false;
    }
    *name = value.substr(0, close + 1);
    rest = value.substr(close + 1);
  } else {
    const size_t colon = value.find(':');
    *name = value.substr(0, colon);
    if (name->empty() || !std::all_of(name->begin(), name->end(), IsNameChar)) return false;
    rest = colon == std::string_view::npos ? std::string_view{} : value.substr(colon);
  }
  if (rest.empty()) {
    *port = {};
    return true;
  }
  if (rest.front() != ':' || !IsPort(rest.substr(1))) return false;
  *port = rest.substr(1);
  return true;
}

ApiGuard::ApiGuard(const ServerOptions& options)
    : options_(options), check_origin_(options.api_key.empty()) {
  if (!options.api_hosts.empty()) {
    hosts_ = options.api_hosts;
  } else if (options.api_key.empty()) {
    hosts_ = {"localhost", "127.0.0.1", "[::1]"};
    const std::string& listen = options.listen_host;
    if (listen != "0.0.0.0" && listen != "::" && !listen.empty()) {
      std::string name = listen.find(':') != std::string::npos ? "[" + listen + "]" : listen;
      if (std::find(hosts_.begin(), hosts_.end(), name) == hosts_.end()) hosts_.push_back(name);
    }
  }
}

std::optional<ApiGuard::Refusal> ApiGuard::CheckSite(const net::HttpRequest& req) const {
  if (!HostAllowed(req)) {
    return Refusal{421, options_.api_hosts.empty()
                            ? "Host not allowed: without api.key the API answers only to "
                              "localhost, 127.0.0.1, [::1] and the listen address (see api.hosts)"
                            : "Host not allowed: not one of api.hosts"};
  }
  if (check_origin_ && !OriginAllowed(req)) {
    return Refusal{403, options_.origins.empty()
                            ? "cross-site request refused: without api.key the API takes no "
                              "requests with an Origin header"
                            : "cross-site request refused: Origin is not one of origins"};
  }
  return std::nullopt;
}

std::optional<ApiGuard::Refusal> ApiGuard::CheckBody(const net::HttpRequest& req) {
  std::string_view type = req.Header("Content-Type");
  type = TrimSpaces(type.substr(0, type.find(';')));
  if (req.HeaderCount("Content-Type") == 1 && net::EqualsIgnoreCase(type, "application/json")) {
    return std::nullopt;
  }
  return Refusal{415, "send the body as Content-Type: application/json"};
}

bool ApiGuard::HostAllowed(const net::HttpRequest& req) const {
  if (hosts_.empty()) return true;
  std::string_view name, port;
  if (req.HeaderCount("Host") != 1 || !SplitHostHeader(req.Header("Host"), &name, &port)) {
    return false;
  }
  for (const std::string& allowed : hosts_) {
    std::string_view allowed_name, allowed_port;
    if (!SplitHostHeader(allowed, &allowed_name, &allowed_port)) continue;
    if (net::EqualsIgnoreCase(name, allowed_name) &&
        (allowed_port.empty() || allowed_port == port)) {
      return true;
    }
  }
  return false;
}

// Browsers send Origin on every cross-site request but simple GETs, and on
// same-site POSTs too; backends (curl, HTTP client libraries) do not.
bool ApiGuard::OriginAllowed(const net::HttpRequest& req) const {
  if (req.HeaderCount("Origin") == 0) return true;
  if (req.HeaderCount("Origin") > 1) return false;
  const std::string_view origin = req.Header("Origin");
  for (const std::string& allowed : options_.origins) {
    if (net::EqualsIgnoreCase(origin, allowed)) return true;
  }
  return false;
}

}  // namespace ringcast::shard
