// Shared test helpers (see test_support.h).
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>

#include "common/log.h"
#include "platform/file.h"

namespace ferry::test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/ferry-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) std::abort();
  path_ = buf.data();
}

TempDir::~TempDir() { (void)platform::remove_tree(path_); }

std::vector<std::byte> make_batch(int count, const std::string& prefix, int64_t timestamp_ms,
                                  size_t value_size) {
  std::vector<std::string> keys, values;
  keys.reserve(static_cast<size_t>(count));
  values.reserve(static_cast<size_t>(count));
  std::vector<protocol::RecordInput> in;
  for (int i = 0; i < count; ++i) {
    keys.push_back("k" + std::to_string(i));
    std::string v = prefix + "-" + std::to_string(i);
    if (v.size() < value_size) v.append(value_size - v.size(), 'x');
    values.push_back(std::move(v));
  }
  for (int i = 0; i < count; ++i) {
    protocol::RecordInput r;
    r.key = keys[static_cast<size_t>(i)];
    r.value = values[static_cast<size_t>(i)];
    r.timestamp_ms = timestamp_ms + i;
    in.push_back(r);
  }
  auto b = protocol::build_batch(in, protocol::BuildOptions{});
  if (!b.ok()) {
    ADD_FAILURE() << "build_batch: " << b.error().to_string();
    std::abort();
  }
  return std::move(b).value();
}

LogCapture::LogCapture() {
  log::set_sink([](log::Level, std::string_view line,
                   void* ctx) { static_cast<LogCapture*>(ctx)->lines_.emplace_back(line); },
                this);
}

LogCapture::~LogCapture() { log::set_sink(nullptr, nullptr); }

bool LogCapture::saw(const std::string& needle) const {
  for (const auto& l : lines_) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string to_string(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace ferry::test
