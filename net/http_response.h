// HTTP/1.1 responses for the API on the WebSocket port (docs/protocol.md, HTTP
// API): complete response bytes with Content-Length, keep-alive or close.
#pragma once

#include <string>
#include <string_view>

namespace ringcast::net {

[[nodiscard]] std::string BuildHttpResponse(int status, std::string_view content_type,
                                            std::string_view body, bool keep_alive);
// The same with `extra_headers` ("Name: value\r\n" lines) after the others.
[[nodiscard]] std::string BuildHttpResponse(int status, std::string_view content_type,
                                            std::string_view body, bool keep_alive,
                                            std::string_view extra_headers);
// {"error":code,"reason":reason} with the given status.
[[nodiscard]] std::string BuildHttpJsonError(int status, std::string_view code,
                                             std::string_view reason, bool keep_alive);

}  // namespace ringcast::net
