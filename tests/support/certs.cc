// Test certificates from make_certs.sh. See certs.h.
#include "support/certs.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace ferry::test {

bool make_certs(const std::string& dir, const std::string& key_type) {
  const std::string cmd =
      "KEY_TYPE=" + key_type + " sh '" FERRY_TEST_SUPPORT_DIR "/make_certs.sh' '" + dir + "'";
  return std::system(cmd.c_str()) == 0;
}

const std::string& test_certs_dir() {
  // Removed at exit with std::filesystem, which (unlike TempDir's platform file system) has no
  // static state that may already be gone then.
  struct Dir {
    std::string path;
    ~Dir() {
      std::error_code ec;
      if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
  };
  static Dir dir;
  static std::string path;
  static bool made = false;
  if (!made) {
    made = true;
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/ferry-certs-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) {
      dir.path = tmpl;
      if (make_certs(tmpl)) path = tmpl;
    }
  }
  EXPECT_FALSE(path.empty()) << "tests/support/make_certs.sh failed (is openssl installed?)";
  return path;
}

std::string cert(const std::string& name) { return test_certs_dir() + "/" + name; }

}  // namespace ferry::test
