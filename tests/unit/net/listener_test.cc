#include "net/listener.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/server_fixture.h"

namespace ringcast::net {
namespace {

using ringcast::testing::ConnectLoopback;

// The shard sets no option on an accepted socket: TCP_NODELAY (our corking
// is in user space) must come from the listener.
TEST(ListenerTest, AcceptedSocketInheritsNoDelay) {
  ListenResult l = OpenListener("127.0.0.1", 0, 16);
  ASSERT_TRUE(l.error.empty()) << l.error;
  ASSERT_NE(l.port, 0);

  int client = ConnectLoopback(l.port);
  ASSERT_GE(client, 0);
  ASSERT_EQ(send(client, "G", 1, MSG_NOSIGNAL), 1);  // accepts wait for the first bytes
  int accepted = accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(accepted, 0);

  int nodelay = 0;
  socklen_t len = sizeof(nodelay);
  ASSERT_EQ(getsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
  EXPECT_NE(nodelay, 0);

  close(accepted);
  close(client);
  close(l.fd);
}

// TCP_DEFER_ACCEPT: a connection that has sent nothing is not handed over (the
// shard is not woken for the bare handshake); its first bytes come with it.
TEST(ListenerTest, AcceptWaitsForTheFirstBytes) {
  ListenResult l = OpenListener("127.0.0.1", 0, 16);
  ASSERT_TRUE(l.error.empty()) << l.error;
  int client = ConnectLoopback(l.port);
  ASSERT_GE(client, 0);
  pollfd p{l.fd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 300), 0) << "a silent connection was ready to accept";
  ASSERT_EQ(send(client, "GET", 3, MSG_NOSIGNAL), 3);
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  int accepted = accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(accepted, 0);
  char buf[8];
  EXPECT_EQ(recv(accepted, buf, sizeof(buf), MSG_DONTWAIT), 3);
  close(accepted);
  close(client);
  close(l.fd);
}

}  // namespace
}  // namespace ringcast::net
