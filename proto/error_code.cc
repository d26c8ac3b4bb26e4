#include "proto/error_code.h"

#include "core/check.h"

namespace ringcast::proto {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadJson:
      return "bad_json";
    case ErrorCode::kBadCommand:
      return "bad_command";
    case ErrorCode::kNotAllowed:
      return "not_allowed";
    case ErrorCode::kTooLarge:
      return "too_large";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kNoSuchUser:
      return "no_such_user";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kLimit:
      return "limit";
    case ErrorCode::kInternal:
      return "internal";
  }
  RC_CHECK(false && "unknown ErrorCode");
  return "internal";
}

}  // namespace ringcast::proto
