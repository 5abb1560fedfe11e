// Shared test helpers: a self-deleting temporary directory and quick record batches.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "protocol/record_batch.h"

namespace ferry::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An uncompressed batch of `count` records "<prefix>-<i>" with keys "k<i>", timestamps
// `timestamp_ms + i`. Aborts the test on failure.
std::vector<std::byte> make_batch(int count, const std::string& prefix = "v",
                                  int64_t timestamp_ms = 1'700'000'000'000, size_t value_size = 0);

std::string to_string(std::span<const std::byte> bytes);

// Collects every log line written while it is alive (replaces the stderr sink).
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  bool saw(const std::string& needle) const;
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::vector<std::string> lines_;
};

}  // namespace ferry::test
