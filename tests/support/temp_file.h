// TempFile: a file in /tmp holding `text` for the life of the object, e.g.
// a TOML file for a server's --config. Removed by the destructor.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

namespace ringcast::testing {

class TempFile {
 public:
  explicit TempFile(std::string_view text) {
    char path[] = "/tmp/ringcast-test-XXXXXX";
    const int fd = ::mkstemp(path);
    EXPECT_GE(fd, 0) << "mkstemp";
    if (fd < 0) return;
    path_ = path;
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
  ~TempFile() {
    if (!path_.empty()) std::remove(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ringcast::testing
