#include "net/uring.h"

#include <cerrno>
#include <cstring>

namespace ringcast::net {

namespace {

// The opcodes the shard loop depends on; all exist since kernel 5.19/6.0.
constexpr struct {
  int op;
  const char* name;
} kRequiredOps[] = {
    {IORING_OP_ACCEPT, "accept"},
    {IORING_OP_RECV, "recv"},
    {IORING_OP_SENDMSG, "sendmsg"},
    {IORING_OP_TIMEOUT, "timeout"},
    {IORING_OP_MSG_RING, "msg_ring"},
    {IORING_OP_ASYNC_CANCEL, "async_cancel"},
    {IORING_OP_PROVIDE_BUFFERS, "provide_buffers"},
    {IORING_OP_CONNECT, "connect"},
    {IORING_OP_SEND, "send"},
};

}  // namespace

Uring::~Uring() { Exit(); }

void Uring::Exit() {
  if (initialized_) io_uring_queue_exit(&ring_);
  initialized_ = false;
}

std::optional<std::string> Uring::Init(unsigned sq_entries) {
  RC_CHECK(!initialized_);
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
                 IORING_SETUP_SUBMIT_ALL;
  params.cq_entries = sq_entries * 8;
  int rc = io_uring_queue_init_params(sq_entries, &ring_, &params);
  if (rc < 0) {
    return std::string("io_uring setup failed (need kernel 6.1+ with io_uring enabled): ") +
           std::strerror(-rc);
  }
  initialized_ = true;
  if (!(params.features & IORING_FEAT_NODROP)) return "io_uring lacks IORING_FEAT_NODROP";
  if (!(params.features & IORING_FEAT_SUBMIT_STABLE)) return "io_uring lacks SUBMIT_STABLE";
  io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
  if (probe == nullptr) return "io_uring probe failed";
  std::optional<std::string> missing;
  for (const auto& op : kRequiredOps) {
    if (!io_uring_opcode_supported(probe, op.op)) {
      missing = std::string("io_uring lacks opcode ") + op.name;
      break;
    }
  }
  io_uring_free_probe(probe);
  return missing;
}

io_uring_sqe* Uring::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    int rc = io_uring_submit(&ring_);
    RC_CHECK(rc >= 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

int Uring::SubmitAndWait(unsigned wait_nr) { return io_uring_submit_and_wait(&ring_, wait_nr); }

int Uring::Submit() { return io_uring_submit(&ring_); }

int Uring::SubmitAndGetEvents() { return io_uring_submit_and_get_events(&ring_); }

}  // namespace ringcast::net
