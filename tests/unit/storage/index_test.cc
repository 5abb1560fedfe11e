// Unit tests of the sparse offset/time index: lookups, persistence, and rejection of bad files.
#include "storage/index.h"

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "platform/file.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

using platform::File;

struct Files {
  test::TempDir dir;
  File index = File::open(dir.file("i"), File::Mode::create).value();
  File time = File::open(dir.file("t"), File::Mode::create).value();
};

SparseIndex sample() {
  SparseIndex idx;
  idx.add({10, 4096, 100});
  idx.add({20, 8200, 150});
  idx.add({35, 12300, 150});
  idx.add({50, 16500, 900});
  return idx;
}

TEST(SparseIndex, FloorLookups) {
  SparseIndex idx = sample();
  EXPECT_EQ(idx.floor_offset(5), nullptr);
  EXPECT_EQ(idx.floor_offset(10)->position, 4096u);
  EXPECT_EQ(idx.floor_offset(34)->position, 8200u);
  EXPECT_EQ(idx.floor_offset(1000)->position, 16500u);
  EXPECT_EQ(idx.floor_timestamp(100), nullptr);  // nothing strictly older than 100
  EXPECT_EQ(idx.floor_timestamp(101)->relative_offset, 10u);
  EXPECT_EQ(idx.floor_timestamp(151)->relative_offset, 35u);
  EXPECT_EQ(idx.floor_timestamp(5000)->relative_offset, 50u);
}

TEST(SparseIndex, PersistsOnlyDurableEntriesAndLoadsThemBack) {
  Files f;
  SparseIndex idx = sample();
  ASSERT_TRUE(idx.persist(f.index, f.time, 12300).ok());  // the batch at 12300 is not durable
  EXPECT_EQ(idx.persisted(), 2u);
  EXPECT_EQ(f.index.size().value(), 2 * kOffsetEntrySize);
  EXPECT_EQ(f.time.size().value(), 2 * kTimeEntrySize);
  ASSERT_TRUE(idx.persist(f.index, f.time, 20000).ok());
  EXPECT_EQ(idx.persisted(), 4u);
  auto loaded = SparseIndex::load(f.index, f.time, 20000);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  ASSERT_EQ(loaded->entries().size(), 4u);
  EXPECT_EQ(loaded->entries()[3].relative_offset, 50u);
  EXPECT_EQ(loaded->entries()[3].position, 16500u);
  EXPECT_EQ(loaded->entries()[3].max_timestamp_before, 900);
  // Big-endian on disk, whatever the host.
  std::byte raw[8];
  ASSERT_TRUE(f.index.pread_exact(raw, 0).ok());
  EXPECT_EQ(load_be32(raw), 10u);
  EXPECT_EQ(load_be32(raw + 4), 4096u);
}

TEST(SparseIndex, RejectsEntriesPastTheLogOrOutOfOrderOrMismatched) {
  {
    Files f;
    SparseIndex idx = sample();
    ASSERT_TRUE(idx.persist(f.index, f.time, 20000).ok());
    EXPECT_FALSE(SparseIndex::load(f.index, f.time, 16000).ok());  // position past the end
  }
  {
    Files f;
    SparseIndex idx;
    idx.add({10, 4096, 1});
    idx.add({5, 8192, 2});
    ASSERT_TRUE(idx.persist(f.index, f.time, 20000).ok());
    EXPECT_FALSE(SparseIndex::load(f.index, f.time, 20000).ok());  // offsets go backwards
  }
  {
    Files f;
    SparseIndex idx = sample();
    ASSERT_TRUE(idx.persist(f.index, f.time, 20000).ok());
    ASSERT_TRUE(f.time.truncate(3 * kTimeEntrySize).ok());
    EXPECT_FALSE(SparseIndex::load(f.index, f.time, 20000).ok());  // files disagree
  }
  {
    Files f;
    std::vector<std::byte> garbage(64, std::byte{0xAB});
    ASSERT_TRUE(f.index.pwrite_all(std::span(garbage).first(64), 0).ok());
    ASSERT_TRUE(f.time.pwrite_all(std::span(garbage).first(48), 0).ok());
    EXPECT_FALSE(SparseIndex::load(f.index, f.time, 1 << 20).ok());
  }
}

TEST(SparseIndex, TruncateDropsEntriesAtOrAfterAPosition) {
  SparseIndex idx = sample();
  idx.truncate_at_position(8200);
  ASSERT_EQ(idx.entries().size(), 1u);
  EXPECT_EQ(idx.entries()[0].position, 4096u);
}

}  // namespace
}  // namespace ferry::storage
