// FaultFileSystem: unsynced data and namespace changes are lost at a power cut, synced ones
// kept; torn and reordered cuts keep whole sectors; injected errors; everything fails after a cut.
#include "platform/fault_fs.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "platform/file.h"

namespace ferry::platform {
namespace {

using Mode = File::Mode;
using Cut = FaultFileSystem::CutMode;

std::string read_all(FaultFileSystem& fs, const std::string& path) {
  auto f = fs.open(path, Mode::read_only);
  if (!f) return "<" + f.error().to_string() + ">";
  auto size = f->size();
  std::string out(static_cast<size_t>(*size), '\0');
  EXPECT_TRUE(f->pread_exact({reinterpret_cast<std::byte*>(out.data()), out.size()}, 0).ok());
  return out;
}

void write(File& f, const std::string& s, uint64_t at) {
  ASSERT_TRUE(f.pwrite_all(as_bytes(s), at).ok());
}

TEST(FaultFs, ReadsSeeUnsyncedWritesAndACutDropsThem) {
  FaultFileSystem fs;
  ASSERT_TRUE(fs.create_dirs("/d").ok());
  auto f = fs.open("/d/a", Mode::create_new);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(fs.sync_dir("/d").ok());
  write(*f, "durable", 0);
  ASSERT_TRUE(f->datasync().ok());
  write(*f, "+lost", 7);
  EXPECT_EQ(read_all(fs, "/d/a"), "durable+lost");
  fs.power_cut(Cut::drop);
  // Power is off: nothing works, through old handles neither.
  EXPECT_FALSE(f->pwrite_all(as_bytes("x"), 0).ok());
  EXPECT_FALSE(f->datasync().ok());
  EXPECT_FALSE(fs.open("/d/a", Mode::read_only).ok());
  fs.restart();
  EXPECT_EQ(read_all(fs, "/d/a"), "durable");
  EXPECT_FALSE(f->pwrite_all(as_bytes("x"), 0).ok()) << "a handle from before the cut stays dead";
}

TEST(FaultFs, NamespaceChangesNeedTheDirectorySync) {
  FaultFileSystem fs;
  ASSERT_TRUE(fs.create_dirs("/d").ok());
  {
    auto f = fs.open("/d/synced", Mode::create_new);
    write(*f, "x", 0);
    ASSERT_TRUE(f->sync().ok());
  }
  ASSERT_TRUE(fs.sync_dir("/d").ok());
  {
    auto f = fs.open("/d/unsynced-name", Mode::create_new);
    write(*f, "y", 0);
    ASSERT_TRUE(f->sync().ok());  // the data is durable, its name is not
  }
  ASSERT_TRUE(fs.rename("/d/synced", "/d/renamed").ok());
  fs.power_cut(Cut::drop);
  fs.restart();
  EXPECT_TRUE(fs.exists("/d/synced"));
  EXPECT_FALSE(fs.exists("/d/renamed"));
  EXPECT_FALSE(fs.exists("/d/unsynced-name"));

  ASSERT_TRUE(fs.rename_durable("/d/synced", "/d/renamed").ok());
  ASSERT_TRUE(fs.unlink("/d/renamed").ok());  // not synced: comes back
  fs.power_cut(Cut::drop);
  fs.restart();
  EXPECT_EQ(read_all(fs, "/d/renamed"), "x");
  ASSERT_TRUE(fs.remove_file_durable("/d/renamed").ok());
  fs.power_cut(Cut::drop);
  fs.restart();
  EXPECT_FALSE(fs.exists("/d/renamed"));
}

TEST(FaultFs, WriteFileAtomicIsAllOrNothing) {
  FaultFileSystem fs;
  ASSERT_TRUE(fs.create_dirs("/d").ok());
  ASSERT_TRUE(fs.write_file_atomic("/d/f", as_bytes("one")).ok());
  for (uint64_t n = 1; n < 8; ++n) {  // cut inside each step of a second atomic write
    fs.cut_after(n, Cut::reorder);
    (void)fs.write_file_atomic("/d/f", as_bytes("two"));
    fs.power_cut(Cut::reorder);
    fs.restart();
    const std::string got = read_all(fs, "/d/f");
    EXPECT_TRUE(got == "one" || got == "two") << n << ": " << got;
    ASSERT_TRUE(fs.write_file_atomic("/d/f", as_bytes("one")).ok());
  }
}

TEST(FaultFs, TornAndReorderedCutsKeepWholeSectors) {
  for (Cut mode : {Cut::torn, Cut::reorder}) {
    bool saw_partial = false;
    FaultFileSystem fs(7);
    for (int round = 0; round < 50; ++round) {
      fs.reset();
      ASSERT_TRUE(fs.create_dirs("/d").ok());
      auto f = fs.open("/d/a", Mode::create_new);
      ASSERT_TRUE(fs.sync_dir("/d").ok());
      std::string data(4 * FaultFileSystem::kSectorSize, '\0');
      for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i / 512);
      write(*f, data, 0);
      fs.power_cut(mode);
      fs.restart();
      const std::string got = read_all(fs, "/d/a");
      ASSERT_EQ(got.size() % FaultFileSystem::kSectorSize, 0u);
      for (size_t s = 0; s < got.size() / 512; ++s) {
        const std::string sector = got.substr(s * 512, 512);
        const bool same = sector == data.substr(s * 512, 512);
        const bool zero = sector == std::string(512, '\0');
        EXPECT_TRUE(same || zero) << "sector " << s << " mixes old and new bytes";
        if (mode == Cut::torn) {
          EXPECT_TRUE(same) << "a torn write keeps a prefix";
        }
      }
      if (!got.empty() && got.size() < data.size()) saw_partial = true;
      if (mode == Cut::reorder && got.size() == data.size() && got != data) saw_partial = true;
    }
    EXPECT_TRUE(saw_partial) << "50 cuts never kept only part of the write";
  }
}

TEST(FaultFs, InjectedErrorsByCountAndProbability) {
  FaultFileSystem fs(3);
  ASSERT_TRUE(fs.create_dirs("/d").ok());
  auto f = fs.open("/d/a", Mode::create_new);
  fs.fail(FaultFileSystem::Op::write, ENOSPC, 1, 1);  // the second write fails, once
  EXPECT_TRUE(f->pwrite_all(as_bytes("1"), 0).ok());
  auto st = f->pwrite_all(as_bytes("2"), 1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::no_space);
  EXPECT_TRUE(f->pwrite_all(as_bytes("3"), 1).ok());

  fs.fail(FaultFileSystem::Op::sync, EIO);
  st = f->datasync();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::failed_state) << "fsync errors are sticky";
  EXPECT_FALSE(st.error().retriable());

  fs.fail(FaultFileSystem::Op::sync_dir, EIO);
  EXPECT_FALSE(fs.sync_dir("/d").ok());
  fs.fail(FaultFileSystem::Op::rename, EIO);
  EXPECT_FALSE(fs.rename("/d/a", "/d/b").ok());
  EXPECT_TRUE(fs.exists("/d/a"));
  fs.fail(FaultFileSystem::Op::unlink, EIO);
  EXPECT_FALSE(fs.unlink("/d/a").ok());
  EXPECT_TRUE(fs.exists("/d/a"));

  fs.fail_randomly(FaultFileSystem::Op::write, EIO, 0.5);
  int failed = 0;
  for (int i = 0; i < 200; ++i) failed += f->pwrite_all(as_bytes("x"), 0).ok() ? 0 : 1;
  EXPECT_GT(failed, 50);
  EXPECT_LT(failed, 150);
  fs.clear_faults();
  EXPECT_TRUE(f->pwrite_all(as_bytes("x"), 0).ok());
}

TEST(FaultFs, CutAfterCountsOperations) {
  FaultFileSystem fs;
  ASSERT_TRUE(fs.create_dirs("/d").ok());
  auto f = fs.open("/d/a", Mode::create_new);
  fs.cut_after(3, Cut::drop);
  EXPECT_TRUE(f->pwrite_all(as_bytes("a"), 0).ok());
  EXPECT_TRUE(f->pwrite_all(as_bytes("b"), 1).ok());
  EXPECT_FALSE(f->datasync().ok());  // the third counted operation: the power goes
  EXPECT_TRUE(fs.is_cut());
}

}  // namespace
}  // namespace ferry::platform
