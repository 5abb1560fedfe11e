// Offset translation's pure parts: the rows the tracker records as batches land, and the lookup
// (deltas, source gaps, the forwarded position, offsets past it or below the map).
#include "mirror/offset_map.h"

#include <gtest/gtest.h>

#include <vector>

#include "meta/mirror_offsets.h"
#include "meta/store.h"
#include "mirror/offset_record.h"
#include "support/test_support.h"

namespace ferry::mirror {
namespace {

OffsetRow row(int64_t source, int64_t target) { return {Offset(source), target}; }

TEST(OffsetTracker, RecordsARowOnlyWhereTheDifferenceChanges) {
  OffsetTracker t;
  t.start(std::nullopt);
  t.landed(Offset(0), Offset(10), 13);   // first landing: a row, difference 3
  t.landed(Offset(10), Offset(15), 18);  // back to back: none
  t.landed(Offset(15), Offset(20), 30);  // others wrote 7 records in between: difference 10
  t.landed(Offset(25), Offset(30), 35);  // a source gap 20..24: difference 5
  EXPECT_EQ(t.take_pending(), (std::vector<OffsetRow>{row(0, 3), row(15, 25), row(25, 30)}));
  EXPECT_FALSE(t.has_pending());
  t.landed(Offset(30), Offset(31), 36);  // unchanged
  EXPECT_FALSE(t.has_pending());
  // A failed write gives its rows back, ahead of newer ones.
  t.restore({row(1, 1)});
  t.landed(Offset(31), Offset(32), 40);
  EXPECT_EQ(t.take_pending(), (std::vector<OffsetRow>{row(1, 1), row(31, 39)}));
}

TEST(OffsetTracker, StartsFromTheNewestStoredRow) {
  OffsetTracker t;
  t.start(row(100, 150));
  t.landed(Offset(200), Offset(210), 260);  // same difference 50: nothing new
  EXPECT_FALSE(t.has_pending());
  OffsetTracker fresh;
  fresh.start(std::nullopt);
  fresh.landed(Offset(200), Offset(210), 260);
  EXPECT_EQ(fresh.take_pending(), (std::vector<OffsetRow>{row(200, 250)}));
}

TEST(Translate, UsesTheGreatestRowAtOrBelowTheOffset) {
  // 0..14 at 3..17; others wrote 7 records; 15..19 at 25..29; source gap 20..24; 25.. at 30..
  const std::vector<OffsetRow> rows{row(0, 3), row(15, 25), row(25, 30)};
  const Offset forwarded(40);
  const int64_t forwarded_target = 45;
  auto at = [&](int64_t n) { return translate(rows, forwarded, forwarded_target, Offset(n)); };
  EXPECT_EQ(at(0).target, 3);
  EXPECT_EQ(at(14).target, 17);
  EXPECT_EQ(at(15).target, 25);
  EXPECT_EQ(at(19).target, 29);
  // Inside the gap: the next record that landed (source 25 at 30), never past it.
  EXPECT_EQ(at(20).target, 30);
  EXPECT_EQ(at(24).target, 30);
  EXPECT_EQ(at(25).target, 30);
  EXPECT_EQ(at(39).target, 44);
  EXPECT_EQ(at(39).kind, TranslationKind::exact);
  // The forwarded position itself: the target offset after the last acknowledged batch.
  EXPECT_EQ(at(40).kind, TranslationKind::exact);
  EXPECT_EQ(at(40).target, 45);
  // Past it: not a guess.
  EXPECT_EQ(at(41).kind, TranslationKind::not_forwarded);
  EXPECT_EQ(at(41).target, -1);
  EXPECT_NE(at(41).reason.find("not forwarded"), std::string::npos);
}

TEST(Translate, BelowTheMapAndWithoutOne) {
  const std::vector<OffsetRow> rows{row(100, 90)};
  auto r = translate(rows, Offset(200), 190, Offset(99));
  EXPECT_EQ(r.kind, TranslationKind::before_map);
  EXPECT_EQ(r.target, -1);
  EXPECT_EQ(translate(rows, Offset(200), 190, Offset(100)).target, 90);
  EXPECT_EQ(translate({}, Offset(200), 190, Offset(5)).kind, TranslationKind::no_map);
  EXPECT_EQ(translate(rows, Offset(200), -1, Offset(150)).kind, TranslationKind::no_map);
  // A checkpoint without rows still answers for the forwarded position itself.
  EXPECT_EQ(translate({}, Offset(200), 190, Offset(200)).target, 190);
}

// target.lost.policy = resend from source offset 50: the rows recorded above it describe batches
// the target lost. They must not outlive the resend, whatever difference the resent batches get.
TEST(OffsetMapAfterResend, RowsAboveTheResendPointAreDeleted) {
  test::TempDir dir;
  auto store = meta::MetaStore::open(dir.file("meta.db"), nullptr, meta::builtin_migrations());
  ASSERT_TRUE(store.ok());
  meta::MetaStore& m = **store;
  const storage::TopicPartition tp{"t", PartitionId(0)};
  auto stored = [&] {
    std::vector<OffsetRow> out;
    auto rows = meta::mirror_offset_rows(m.reader(), "m");
    EXPECT_TRUE(rows.ok());
    if (!rows.ok()) return out;
    for (const auto& r : *rows) out.push_back({r.source_offset, r.target_offset});
    return out;
  };
  auto write = [&](const std::vector<OffsetRow>& rows) {
    std::vector<meta::MirrorOffsetRow> out;
    for (const OffsetRow& r : rows) out.push_back({"t", PartitionId(0), r.source, r.target});
    ASSERT_TRUE(m.submit_sync({meta::mirror_offset_rows_mutation("m", out, Offset(0))}).ok());
  };
  // Before: 0..99 at 0..99, then others wrote 10 records: 100..199 at 110..209.
  OffsetTracker t;
  t.start(std::nullopt);
  t.landed(Offset(0), Offset(100), 100);
  t.landed(Offset(100), Offset(200), 210);
  write(t.take_pending());
  ASSERT_EQ(stored(), (std::vector<OffsetRow>{row(0, 0), row(100, 110)}));

  // The target lost everything from source offset 50 on; the resend lands 50..199 at 53..202.
  ASSERT_TRUE(m.submit_sync({resend_offset_rows_mutation("m", tp, Offset(50))}).ok());
  t.resend(Offset(50));
  t.landed(Offset(50), Offset(200), 203);
  write(t.take_pending());
  const std::vector<OffsetRow> rows = stored();
  EXPECT_EQ(rows, (std::vector<OffsetRow>{row(0, 0), row(50, 53)}));
  EXPECT_EQ(translate(rows, Offset(200), 203, Offset(120)).target, 123);
  EXPECT_EQ(translate(rows, Offset(200), 203, Offset(40)).target, 40);

  // A second resend from 150 whose batches land with the difference the last row has (3): the
  // first of them still records a row, so nothing depends on what was dropped.
  ASSERT_TRUE(m.submit_sync({resend_offset_rows_mutation("m", tp, Offset(150))}).ok());
  t.resend(Offset(150));
  t.landed(Offset(150), Offset(200), 203);
  write(t.take_pending());
  EXPECT_EQ(stored(), (std::vector<OffsetRow>{row(0, 0), row(50, 53), row(150, 153)}));
}

}  // namespace
}  // namespace ferry::mirror
