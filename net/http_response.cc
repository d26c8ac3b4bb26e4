#include "net/http_response.h"

#include "net/handshake.h"

namespace ringcast::net {

std::string BuildHttpResponse(int status, std::string_view content_type, std::string_view body,
                              bool keep_alive) {
  return BuildHttpResponse(status, content_type, body, keep_alive, {});
}

std::string BuildHttpResponse(int status, std::string_view content_type, std::string_view body,
                              bool keep_alive, std::string_view extra_headers) {
  std::string out;
  out.reserve(160 + extra_headers.size() + body.size());
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(StatusText(status));
  out.append("\r\nContent-Type: ").append(content_type);
  out.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  out.append(keep_alive ? "\r\nConnection: keep-alive" : "\r\nConnection: close");
  out.append("\r\nCache-Control: no-store\r\n");
  out.append(extra_headers);
  out.append("\r\n");
  out.append(body);
  return out;
}

std::string BuildHttpJsonError(int status, std::string_view code, std::string_view reason,
                               bool keep_alive) {
  std::string body = "{\"error\":\"";
  body.append(code).append("\",\"reason\":\"");
  for (char ch : reason) {  // reasons are ours, but stay valid JSON whatever they hold
    if (ch == '"' || ch == '\\') body.push_back('\\');
    if (static_cast<unsigned char>(ch) < 0x20) continue;
    body.push_back(ch);
  }
  body.append("\"}");
  return BuildHttpResponse(status, "application/json", body, keep_alive);
}

}  // namespace ringcast::net
