// Test certificates from make_certs.sh. See certs.h.
#include "support/certs.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>

#include "support/test_support.h"

namespace ferry::test {

bool make_certs(const std::string& dir, const std::string& key_type) {
  const std::string cmd =
      "KEY_TYPE=" + key_type + " sh '" FERRY_TEST_SUPPORT_DIR "/make_certs.sh' '" + dir + "'";
  return std::system(cmd.c_str()) == 0;
}

const std::string& test_certs_dir() {
  // Kept for the process's lifetime; TempDir removes it at exit.
  static std::unique_ptr<TempDir> dir;
  static std::string path;
  static bool made = false;
  if (!made) {
    made = true;
    dir = std::make_unique<TempDir>();
    if (make_certs(dir->path())) path = dir->path();
  }
  EXPECT_FALSE(path.empty()) << "tests/support/make_certs.sh failed (is openssl installed?)";
  return path;
}

std::string cert(const std::string& name) { return test_certs_dir() + "/" + name; }

}  // namespace ferry::test
