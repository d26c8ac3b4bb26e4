// Kept apart from ws_client.cc: <linux/tcp.h> (whose tcp_info has tcpi_bytes_received) and
// glibc's <netinet/tcp.h> cannot be included together.
#include "tests/support/tcp_diag.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace ringcast::testing {

std::optional<PeerSocketState> PeerSocket(int fd) {
  sockaddr_in local{}, peer{};
  socklen_t len = sizeof(local);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 ||
      local.sin_family != AF_INET) {
    return std::nullopt;
  }
  len = sizeof(peer);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return std::nullopt;

  // One exact lookup: the socket whose source is our peer and whose destination is us.
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } query{};
  query.header.nlmsg_len = sizeof(query);
  query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  query.header.nlmsg_flags = NLM_F_REQUEST;
  query.request.sdiag_family = AF_INET;
  query.request.sdiag_protocol = IPPROTO_TCP;
  query.request.idiag_ext = 1 << (INET_DIAG_INFO - 1);
  query.request.idiag_states = ~0u;
  query.request.id.idiag_sport = peer.sin_port;
  query.request.id.idiag_dport = local.sin_port;
  std::memcpy(query.request.id.idiag_src, &peer.sin_addr, sizeof(peer.sin_addr));
  std::memcpy(query.request.id.idiag_dst, &local.sin_addr, sizeof(local.sin_addr));
  query.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  query.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

  int nl = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return std::nullopt;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  alignas(nlmsghdr) char answer[8192];
  ssize_t n = -1;
  if (::sendto(nl, &query, sizeof(query), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof(kernel)) == static_cast<ssize_t>(sizeof(query))) {
    n = ::recv(nl, answer, sizeof(answer), 0);
  }
  ::close(nl);
  if (n <= 0) return std::nullopt;

  auto left = static_cast<unsigned>(n);
  for (auto* h = reinterpret_cast<nlmsghdr*>(answer); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;  // NLMSG_ERROR: no such socket
    const auto* msg = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
    PeerSocketState state;
    state.unread = msg->idiag_rqueue;
    bool have_info = false;
    int attrs = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(*msg)));
    for (auto* a = reinterpret_cast<rtattr*>(const_cast<inet_diag_msg*>(msg) + 1); RTA_OK(a, attrs);
         a = RTA_NEXT(a, attrs)) {
      if (a->rta_type != INET_DIAG_INFO) continue;
      tcp_info info{};
      std::memcpy(&info, RTA_DATA(a), std::min<size_t>(RTA_PAYLOAD(a), sizeof(info)));
      state.bytes_received = info.tcpi_bytes_received;
      have_info = true;
    }
    if (have_info) return state;
  }
  return std::nullopt;
}

}  // namespace ringcast::testing
