// Unit tests of platform/: CRC32C (check value, hardware vs table path) and durable file I/O.
#include <gtest/gtest.h>

#include <cerrno>
#include <random>
#include <string>

#include "platform/crc32c.h"
#include "platform/file.h"
#include "support/test_support.h"

namespace ferry::platform {
namespace {

TEST(Crc32c, CastagnoliCheckValue) {
  const char* check = "123456789";
  EXPECT_EQ(crc32c(0, check, 9), 0xE3069283u);
  EXPECT_EQ(crc32c_software(0, check, 9), 0xE3069283u);
  EXPECT_EQ(crc32c(0, "", 0), 0u);
  // 32 bytes of zeros: a published test vector (RFC 3720, B.4).
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(0, zeros.data(), zeros.size()), 0x8A9136AAu);
}

TEST(Crc32c, DispatchedPathMatchesTableForEveryLengthAndAlignment) {
  std::mt19937 rng(42);
  std::vector<uint8_t> buf(1024 + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t align = 0; align < 16; ++align) {
    for (size_t len = 0; len <= 1024; ++len) {
      ASSERT_EQ(crc32c(0, buf.data() + align, len), crc32c_software(0, buf.data() + align, len))
          << "align " << align << " len " << len;
    }
  }
}

// Lengths around and far past the three-lane threshold (3 x 512 bytes) of the hardware paths.
TEST(Crc32c, DispatchedPathMatchesTableForMultiLaneLengths) {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(200000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  std::vector<size_t> lengths;
  for (size_t len = 1400; len <= 3300; ++len) lengths.push_back(len);
  for (size_t len : {4096u, 4608u, 16384u, 16391u, 65536u, 100003u, 199990u})
    lengths.push_back(len);
  for (size_t len : lengths) {
    for (size_t align : {0u, 1u, 3u, 8u}) {
      ASSERT_EQ(crc32c(0x12345678u, buf.data() + align, len),
                crc32c_software(0x12345678u, buf.data() + align, len))
          << "align " << align << " len " << len;
    }
  }
}

TEST(Crc32c, ChainingEqualsOneShot) {
  std::string a = "the quick brown fox ", b = "jumps over the lazy dog";
  std::string ab = a + b;
  uint32_t whole = crc32c(0, ab.data(), ab.size());
  EXPECT_EQ(crc32c(crc32c(0, a.data(), a.size()), b.data(), b.size()), whole);
  EXPECT_EQ(crc32c_software(crc32c_software(0, a.data(), a.size()), b.data(), b.size()), whole);
}

TEST(Crc32c, UsesTheHardwarePathWhereTheCpuHasOne) {
  std::string impl = crc32c_implementation();
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) {
    EXPECT_EQ(impl, "sse4.2");
  }
#elif defined(__arm__)
  EXPECT_EQ(impl, "table");
#endif
  EXPECT_FALSE(impl.empty());
}

TEST(File, WriteReadRoundTripIncludingLargeBuffers) {
  test::TempDir dir;
  auto f = File::open(dir.file("a"), File::Mode::create_new);
  ASSERT_TRUE(f.ok());
  std::vector<std::byte> big((3u << 20) + 17);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i * 31);
  ASSERT_TRUE(f->pwrite_all(big, 100).ok());
  EXPECT_EQ(f->size().value(), big.size() + 100);
  std::vector<std::byte> back(big.size());
  ASSERT_TRUE(f->pread_exact(back, 100).ok());
  EXPECT_EQ(back, big);
  std::vector<std::byte> past(10);
  auto st = f->pread_exact(past, big.size() + 95);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::out_of_range);
  auto some = f->pread_some(past, big.size() + 95);
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(*some, 5u);
  EXPECT_TRUE(f->datasync().ok());
  EXPECT_TRUE(f->sync().ok());
}

TEST(File, TruncateAllocateAndOpenModes) {
  test::TempDir dir;
  std::string p = dir.file("b");
  EXPECT_EQ(File::open(p, File::Mode::read_write).error().code(), Errc::not_found);
  auto f = File::open(p, File::Mode::create);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(File::open(p, File::Mode::create_new).error().code(), Errc::already_exists);
  std::string data(1000, 'q');
  ASSERT_TRUE(f->pwrite_all(as_bytes(data), 0).ok());
  ASSERT_TRUE(f->allocate(0, 1 << 20).ok());
  EXPECT_EQ(f->size().value(), 1000u);  // KEEP_SIZE: reserved, not visible
  ASSERT_TRUE(f->truncate(10).ok());
  EXPECT_EQ(f->size().value(), 10u);
  EXPECT_EQ(file_size(p).value(), 10u);
  EXPECT_EQ(file_size(dir.file("missing")).error().code(), Errc::not_found);
  ASSERT_TRUE(f->close().ok());
  EXPECT_FALSE(f->is_open());
  auto ro = File::open(p, File::Mode::read_only);
  ASSERT_TRUE(ro.ok());
  EXPECT_FALSE(ro->pwrite_all(as_bytes(data), 0).ok());
}

TEST(File, DirectoryOperations) {
  test::TempDir dir;
  std::string nested = dir.file("x/y/z");
  ASSERT_TRUE(create_dirs(nested).ok());
  EXPECT_TRUE(exists(nested));
  for (const char* n : {"c", "a", "b"}) {
    ASSERT_TRUE(write_file_atomic(nested + "/" + n, as_bytes(n)).ok());
  }
  auto names = list_dir(nested);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c"}));  // sorted, no .tmp left
  ASSERT_TRUE(write_file_atomic(nested + "/a", as_bytes("replaced")).ok());
  auto f = File::open(nested + "/a", File::Mode::read_only).value();
  std::vector<std::byte> back(8);
  ASSERT_TRUE(f.pread_exact(back, 0).ok());
  EXPECT_EQ(test::to_string(back), "replaced");
  ASSERT_TRUE(rename_durable(nested + "/b", nested + "/d").ok());
  ASSERT_TRUE(remove_file_durable(nested + "/c").ok());
  ASSERT_TRUE(remove_file_durable(nested + "/c").ok());  // already gone: fine
  EXPECT_EQ(*list_dir(nested), (std::vector<std::string>{"a", "d"}));
  EXPECT_TRUE(sync_dir(nested).ok());
  ASSERT_TRUE(remove_tree(dir.file("x")).ok());
  EXPECT_FALSE(exists(dir.file("x")));
  EXPECT_EQ(list_dir(dir.file("x")).error().code(), Errc::not_found);
}

TEST(File, FreeSpaceIsSane) {
  test::TempDir dir;
  auto s = free_space(dir.path());
  ASSERT_TRUE(s.ok());
  EXPECT_GT(s->total_bytes, 0u);
  EXPECT_GT(s->available_bytes, 0u);
  EXPECT_LE(s->available_bytes, s->total_bytes);
  EXPECT_FALSE(free_space(dir.file("missing")).ok());
}

TEST(Error, FromErrnoClassifiesNoSpace) {
  EXPECT_EQ(Error::from_errno(ENOSPC, "write").code(), Errc::no_space);
  EXPECT_EQ(Error::from_errno(EDQUOT, "write").code(), Errc::no_space);
  Error e = Error::from_errno(EIO, "write x");
  EXPECT_EQ(e.code(), Errc::io);
  EXPECT_TRUE(e.retriable());
  EXPECT_NE(e.to_string().find("write x"), std::string::npos);
}

// A failed fsync may have dropped dirty pages the kernel then marks clean: a later fsync that
// succeeds proves nothing, so fsync errors are sticky (not retriable), whatever the errno.
TEST(Error, FsyncErrorsAreSticky) {
  for (int err : {EIO, ENOSPC, EDQUOT}) {
    Error e = sync_error(err, "fsync x");
    EXPECT_EQ(e.code(), Errc::failed_state) << err;
    EXPECT_FALSE(e.retriable()) << err;
    EXPECT_NE(e.to_string().find("fsync x"), std::string::npos);
  }
}

}  // namespace
}  // namespace ferry::platform
