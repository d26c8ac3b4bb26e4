// Assertions for programmer errors. RC_CHECK is always on; RC_DCHECK only in
// debug builds. Both crash loudly with the failing expression and location:
// an invariant that does not hold means state is corrupt, and continuing would
// lose or misdeliver messages. Expected events (peer resets, ENOBUFS, full
// queues) are never checked with these; they are ordinary code paths.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace ringcast::core {

[[noreturn]] inline void CheckFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "ringcast: check failed: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace ringcast::core

#define RC_CHECK(cond)                                          \
  do {                                                          \
    if (__builtin_expect(!(cond), 0)) {                         \
      ::ringcast::core::CheckFailed(#cond, __FILE__, __LINE__); \
    }                                                           \
  } while (0)

#ifdef NDEBUG
#define RC_DCHECK(cond) \
  do {                  \
    (void)sizeof(cond); \
  } while (0)
#else
#define RC_DCHECK(cond) RC_CHECK(cond)
#endif
