// Unit tests of the log cleaner (compaction): latest record per key, tombstones and
// delete.retention.ms, multi-pass cleaning with a tiny key map, compact,delete, the active
// segment, producer fields, offsets with gaps and reads across them, the swap's recovery.
#include "storage/cleaner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "platform/file.h"
#include "protocol/record_batch.h"
#include "storage/cleaner_map.h"
#include "storage/cleaner_swap.h"
#include "storage/log.h"
#include "storage/segment_name.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

using protocol::BatchView;
using test::TempDir;

struct Rec {
  int64_t offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
  int64_t timestamp;
};

LogConfig compact_config() {
  LogConfig cfg;
  cfg.segment_bytes = 1024;  // many small segments
  cfg.index_interval_bytes = 256;
  cfg.cleanup_compact = true;
  cfg.cleanup_delete = false;
  cfg.retention_ms = -1;
  return cfg;
}

struct Fixture {
  TempDir dir;
  FakeClock clock{1'700'000'000'000};
  std::shared_ptr<Log> log;
  LogConfig cfg;

  explicit Fixture(LogConfig c = compact_config()) : cfg(c) { reopen(); }
  void reopen() {
    log.reset();
    LogOptions o;
    o.clock = &clock;
    auto l = Log::open(dir.path(), cfg, o);
    ASSERT_TRUE(l.ok()) << l.error().to_string();
    log = *l;
  }
  // One batch of keyed records; value nullopt = tombstone.
  Offset put(const std::vector<std::pair<std::string, std::optional<std::string>>>& kv,
             protocol::BuildOptions o = {}) {
    std::vector<protocol::RecordInput> in;
    for (const auto& [k, v] : kv) {
      in.push_back({std::string_view(k),
                    v ? std::optional<std::string_view>(*v) : std::nullopt,
                    clock.now_ms(),
                    {}});
    }
    auto b = protocol::build_batch(in, o);
    EXPECT_TRUE(b.ok());
    auto info = log->append(*b);
    EXPECT_TRUE(info.ok()) << info.error().to_string();
    return info.ok() ? info->base_offset : Offset(-1);
  }
  Offset put1(const std::string& k, std::optional<std::string> v) { return put({{k, v}}); }

  std::vector<BatchView> batches(std::vector<std::byte>& storage) {
    auto r = log->read(log->log_start_offset(), 64 << 20);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    storage = std::move(r->data);
    std::vector<BatchView> out;
    std::span<const std::byte> rest(storage);
    while (!rest.empty()) {
      auto n = protocol::declared_batch_size(rest);
      EXPECT_TRUE(n && *n <= rest.size());
      out.emplace_back(rest.first(*n));
      EXPECT_TRUE(protocol::validate_batch(out.back().bytes()).ok());
      rest = rest.subspan(*n);
    }
    return out;
  }
  std::vector<Rec> records() {
    std::vector<std::byte> storage;
    std::vector<Rec> out;
    for (const auto& v : batches(storage)) {
      std::vector<std::byte> scratch;
      auto recs = protocol::decode_records(v, scratch);
      EXPECT_TRUE(recs.ok());
      for (const auto& r : *recs) {
        Rec x;
        x.offset = v.base_offset().value() + r.offset_delta;
        if (r.key) x.key = test::to_string(*r.key);
        if (r.value) x.value = test::to_string(*r.value);
        x.timestamp = v.base_timestamp() + r.timestamp_delta;
        out.push_back(x);
      }
    }
    return out;
  }
};

Result<std::optional<PassResult>> clean(Fixture& f, CleanerConfig cc = {}, bool force = false) {
  Cleaner cleaner(nullptr, cc, &f.clock);
  return cleaner.clean_now(*f.log, force);
}

// The latest record of each key among `all` with offset < `below`.
std::map<std::string, Rec> latest(const std::vector<Rec>& all, int64_t below) {
  std::map<std::string, Rec> m;
  for (const auto& r : all) {
    if (r.offset < below) m[*r.key] = r;
  }
  return m;
}

TEST(Cleaner, KeepsTheLatestRecordOfEveryKeyWithItsOffset) {
  Fixture f;
  for (int round = 0; round < 20; ++round) {
    for (int k = 0; k < 10; ++k) {
      f.put1("key" + std::to_string(k), "v" + std::to_string(round) + "-" + std::to_string(k));
      f.clock.advance_ms(1);
    }
  }
  ASSERT_GT(f.log->segment_count(), 5u);  // keys spread over many segments
  const auto before = f.records();
  const Offset active = f.log->active_segment_base();
  auto r = clean(f);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_TRUE(r->has_value());
  EXPECT_GT((*r)->records_removed, 100u);
  EXPECT_EQ((*r)->clean_point, active);
  const auto after = f.records();
  // Every record left is one that was written, at its original offset, with its timestamp.
  std::map<int64_t, Rec> by_offset;
  for (const auto& b : before) by_offset[b.offset] = b;
  int64_t prev = -1;
  for (const auto& a : after) {
    ASSERT_TRUE(by_offset.count(a.offset));
    EXPECT_EQ(by_offset[a.offset].key, a.key);
    EXPECT_EQ(by_offset[a.offset].value, a.value);
    EXPECT_EQ(by_offset[a.offset].timestamp, a.timestamp);
    EXPECT_GT(a.offset, prev);
    prev = a.offset;
  }
  // Below the clean point exactly the latest per key survives; above it everything.
  for (const auto& [k, rec] : latest(before, active.value())) {
    size_t n = 0;
    for (const auto& a : after) n += a.offset < active.value() && a.key == k ? 1 : 0;
    EXPECT_EQ(n, 1u) << k;
    bool found = false;
    for (const auto& a : after) found |= a.offset == rec.offset;
    EXPECT_TRUE(found) << k;
  }
  size_t above = 0, above_before = 0;
  for (const auto& a : after) above += a.offset >= active.value();
  for (const auto& b : before) above_before += b.offset >= active.value();
  EXPECT_EQ(above, above_before);
  EXPECT_EQ(f.log->log_end_offset(), Offset(200));
  // The rewritten batches are LZ4, and the log reads the same after a reopen.
  f.reopen();
  const auto reopened = f.records();
  ASSERT_EQ(reopened.size(), after.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(reopened[i].offset, after[i].offset);
}

TEST(Cleaner, LeavesTheActiveSegmentUntouched) {
  Fixture f;
  for (int i = 0; i < 60; ++i) f.put1("k" + std::to_string(i % 3), "value-" + std::to_string(i));
  const std::string active = f.log->segment_path(f.log->active_segment_base());
  auto read_file = [](const std::string& p) {
    auto file = platform::File::open(p, platform::File::Mode::read_only);
    EXPECT_TRUE(file.ok());
    std::vector<std::byte> out(static_cast<size_t>(file->size().value()));
    EXPECT_TRUE(file->pread_exact(out, 0).ok());
    return out;
  };
  const auto before = read_file(active);
  ASSERT_FALSE(before.empty());
  auto r = clean(f);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ(read_file(active), before);
  // The active segment still holds duplicates of the keys.
  size_t in_active = 0;
  for (const auto& rec : f.records())
    in_active += rec.offset >= f.log->active_segment_base().value();
  EXPECT_GT(in_active, 3u);
}

TEST(Cleaner, NotEligibleBelowTheDirtyRatioOrWithoutCompactPolicy) {
  LogConfig cfg = compact_config();
  cfg.cleanup_compact = false;
  cfg.cleanup_delete = true;
  Fixture f(cfg);
  for (int i = 0; i < 40; ++i) f.put1("k", "v" + std::to_string(i));
  auto r = clean(f);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());  // cleanup.policy=delete
  cfg.cleanup_compact = true;
  f.log->set_config(cfg);
  ASSERT_TRUE(clean(f).value().has_value());
  // Clean now: a few new segments are dirty, but far less than half of the log.
  for (int i = 0; i < 12; ++i) f.put1("k", "w" + std::to_string(i));
  cfg.min_cleanable_dirty_ratio = 0.99;
  f.log->set_config(cfg);
  EXPECT_FALSE(clean(f).value().has_value());
}

TEST(Cleaner, TombstonesStayForDeleteRetentionThenGo) {
  LogConfig cfg = compact_config();
  cfg.delete_retention_ms = 60'000;
  cfg.min_cleanable_dirty_ratio = 0;
  Fixture f(cfg);
  f.put1("gone", "v1");
  const Offset tomb = f.put1("gone", std::nullopt);
  const Offset kept = f.put1("stays", "v");
  for (int i = 0; i < 40; ++i) f.put1("filler" + std::to_string(i), std::string(40, 'x'));
  ASSERT_GT(f.log->active_segment_base(), kept);
  auto has = [&](int64_t off) {
    for (const auto& r : f.records()) {
      if (r.offset == off) return true;
    }
    return false;
  };
  ASSERT_TRUE(clean(f, {}, true).value().has_value());
  EXPECT_FALSE(has(0));  // superseded by the tombstone
  EXPECT_TRUE(has(tomb.value()));
  f.clock.advance_ms(59'999);
  ASSERT_TRUE(clean(f, {}, true).ok());
  EXPECT_TRUE(has(tomb.value())) << "removed before delete.retention.ms";
  f.clock.advance_ms(2);
  auto r = clean(f, {}, true);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->tombstones_removed, 1u);
  EXPECT_FALSE(has(tomb.value()));
  EXPECT_TRUE(has(kept.value()));
}

TEST(Cleaner, SeveralPassesWithATinyKeyMap) {
  LogConfig cfg = compact_config();
  cfg.min_cleanable_dirty_ratio = 0;
  Fixture f(cfg);
  for (int round = 0; round < 4; ++round) {
    for (int k = 0; k < 50; ++k) f.put1("key" + std::to_string(k), "r" + std::to_string(round));
  }
  for (int i = 0; i < 10; ++i) f.put1("tail", "t");  // the active segment
  const auto before = f.records();
  const int64_t active = f.log->active_segment_base().value();
  CleanerConfig cc;
  cc.dedupe_buffer_bytes = 16 * OffsetMap::kEntryBytes;  // 14 keys per pass
  int passes = 0;
  bool saw_full = false;
  for (; passes < 100; ++passes) {
    auto r = clean(f, cc);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    if (!r->has_value()) break;
    saw_full |= (*r)->map_full;
  }
  EXPECT_TRUE(saw_full);
  EXPECT_GT(passes, 3);
  const auto after = f.records();
  const auto want = latest(before, active);
  std::map<std::string, int> count;
  for (const auto& a : after) {
    if (a.offset < active) ++count[*a.key];
  }
  for (const auto& [k, rec] : want) {
    EXPECT_EQ(count[k], 1) << k;
    bool found = false;
    for (const auto& a : after) found |= a.offset == rec.offset && a.value == rec.value;
    EXPECT_TRUE(found) << k;
  }
}

TEST(Cleaner, CompactDeleteAlsoAppliesRetention) {
  LogConfig cfg = compact_config();
  cfg.retention_ms = 1000;
  Fixture f(cfg);
  for (int i = 0; i < 40; ++i) f.put1("k" + std::to_string(i % 4), "v" + std::to_string(i));
  f.clock.advance_ms(5000);
  for (int i = 0; i < 30; ++i) f.put1("k" + std::to_string(i % 4), "w" + std::to_string(i));
  // compact only: retention deletes nothing.
  auto r = f.log->apply_retention();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 0u);
  cfg.cleanup_delete = true;
  f.log->set_config(cfg);
  r = f.log->apply_retention();
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->segments_deleted, 0u);
  EXPECT_GT(f.log->log_start_offset(), Offset(0));
  auto c = clean(f, {}, true);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  for (const auto& rec : f.records()) EXPECT_EQ(rec.value->at(0), 'w');
}

TEST(Cleaner, KeepsProducerFieldsAndEmptyBatchesOfProducers) {
  LogConfig cfg = compact_config();
  Fixture f(cfg);
  protocol::BuildOptions o;
  o.producer_id = ProducerId(7);
  o.producer_epoch = 3;
  std::map<int64_t, int32_t> seq_at;
  int32_t seq = 0;
  for (int i = 0; i < 30; ++i) {
    o.base_sequence = seq;
    Offset at = f.put({{"a", "v" + std::to_string(i)}, {"b", "w" + std::to_string(i)}}, o);
    seq_at[at.value()] = seq;
    seq += 2;
  }
  for (int i = 0; i < 20; ++i) f.put1("x", "y");  // roll past the producer's batches
  ASSERT_TRUE(clean(f, {}, true).value().has_value());
  std::vector<std::byte> storage;
  size_t empty = 0, producer_batches = 0;
  for (const auto& v : f.batches(storage)) {
    if (v.producer_id() != ProducerId(7)) continue;
    ++producer_batches;
    EXPECT_EQ(v.producer_epoch(), 3);
    ASSERT_TRUE(seq_at.count(v.base_offset().value()));
    EXPECT_EQ(v.base_sequence(), seq_at[v.base_offset().value()]);
    EXPECT_EQ(v.last_offset_delta(), 1);
    if (v.record_count() == 0) ++empty;
  }
  EXPECT_EQ(producer_batches, 30u);  // every batch kept, most of them empty
  EXPECT_GE(empty, 28u);
}

TEST(Cleaner, ReadsAcrossGapsReachTheLogEnd) {
  Fixture f;
  for (int i = 0; i < 100; ++i) f.put1("k" + std::to_string(i % 5), std::string(30, 'a'));
  ASSERT_TRUE(clean(f, {}, true).value().has_value());
  const auto recs = f.records();
  ASSERT_LT(recs.size(), 100u);
  // A read from an offset that was removed returns the next record after it.
  int64_t gap = -1;
  for (size_t i = 0; i < recs.size(); ++i) {
    const int64_t prev = i == 0 ? -1 : recs[i - 1].offset;
    if (recs[i].offset > prev + 1) {
      gap = prev + 1;
      break;
    }
  }
  ASSERT_GE(gap, 0);
  auto r = f.log->read(Offset(gap), 1);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_GT(r->batch_count, 0u);
  EXPECT_GT(r->next_offset, Offset(gap));
  // A consumer loop with a tiny fetch size goes from 0 to the end in bounded steps.
  Offset at(0);
  int steps = 0;
  while (at < f.log->log_end_offset() && steps < 1000) {
    auto rr = f.log->read(at, 1);
    ASSERT_TRUE(rr.ok()) << rr.error().to_string();
    ASSERT_GT(rr->next_offset, at);
    at = rr->next_offset;
    ++steps;
  }
  EXPECT_EQ(at, f.log->log_end_offset());
}

TEST(Cleaner, RecoveryDiscardsAnUncommittedPassAndFinishesACommittedOne) {
  for (bool committed : {false, true}) {
    Fixture f;
    for (int i = 0; i < 80; ++i) f.put1("k" + std::to_string(i % 4), "v" + std::to_string(i));
    const auto before = f.records();
    Cleaner cleaner(nullptr, {}, &f.clock);
    auto c = cleaner.cleanability(*f.log, true);
    ASSERT_TRUE(c.ok() && c->has_value());
    PassPlan plan = (*c)->plan;
    plan.fs = &platform::real_fs();
    plan.now_ms = f.clock.now_ms();
    auto pass = run_clean_pass(plan);
    ASSERT_TRUE(pass.ok()) << pass.error().to_string();
    ASSERT_GT(pass->cleaned.size(), 1u);
    if (committed) {  // a crash right after the commit point: one .swap, the rest .cleaned
      ASSERT_TRUE(platform::real_fs()
                      .rename(cleaned_path(f.dir.path(), pass->cleaned[0].base),
                              swap_path(f.dir.path(), pass->cleaned[0].base))
                      .ok());
    }
    f.reopen();
    auto names = platform::list_dir(f.dir.path());
    ASSERT_TRUE(names.ok());
    for (const auto& n : *names) {
      EXPECT_FALSE(n.ends_with(kCleanedSuffix) || n.ends_with(kSwapSuffix)) << n;
    }
    const auto after = f.records();
    if (committed) {
      EXPECT_LT(after.size(), before.size());
      for (const auto& [k, rec] : latest(before, f.log->log_end_offset().value())) {
        bool found = false;
        for (const auto& a : after) found |= a.offset == rec.offset;
        EXPECT_TRUE(found) << k;
      }
    } else {
      EXPECT_EQ(after.size(), before.size());
    }
  }
}

TEST(Cleaner, CompactionLagsDecideWhatIsCleanable) {
  LogConfig cfg = compact_config();
  cfg.min_compaction_lag_ms = 60'000;
  Fixture f(cfg);
  for (int i = 0; i < 40; ++i) f.put1("k" + std::to_string(i % 4), "v" + std::to_string(i));
  // Every sealed segment holds records younger than min.compaction.lag.ms.
  EXPECT_FALSE(clean(f).value().has_value());
  f.clock.advance_ms(60'001);
  ASSERT_TRUE(clean(f).value().has_value());
  // Below min.cleanable.dirty.ratio, but past max.compaction.lag.ms: cleaned anyway.
  cfg.min_compaction_lag_ms = 0;
  cfg.min_cleanable_dirty_ratio = 0.99;
  cfg.max_compaction_lag_ms = 10'000;
  f.log->set_config(cfg);
  for (int i = 0; i < 12; ++i) f.put1("k" + std::to_string(i % 4), "w" + std::to_string(i));
  EXPECT_FALSE(clean(f).value().has_value()) << "new records are not overdue yet";
  f.clock.advance_ms(10'001);
  auto r = clean(f);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_GT((*r)->records_removed, 0u);
}

TEST(Cleaner, IoThrottleHoldsTheRate) {
  IoThrottle t(1'000'000);  // 1 MB/s, a 100 ms burst
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i) t.consume(10'000);  // 300 KB: at least ~0.2 s
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_GE(ms, 150);
  EXPECT_GT(t.slept_ms(), 100u);
  IoThrottle unlimited(0);
  const auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i) unlimited.consume(10'000'000);
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::milliseconds(100));
}

// A power cut can keep a swapped-in segment's old index files (their removal not yet durable):
// the index no longer matches the log and must be rebuilt, not followed.
TEST(Cleaner, AStaleIndexOfASwappedSegmentIsRebuilt) {
  LogConfig cfg = compact_config();
  cfg.segment_bytes = 8192;
  cfg.index_interval_bytes = 128;
  Fixture f(cfg);
  // Segment 0: one superseded record first, then keys written once, so the cleaned copy is a
  // little shorter, every batch at another position (the old entries stay within the file).
  f.put1("dup", "first");
  for (int i = 0; i < 60; ++i) f.put1("once-" + std::to_string(i), std::string(40, 'o'));
  cfg.segment_ms = 1;  // the next append rolls: segment 0 ends here
  f.log->set_config(cfg);
  f.clock.advance_ms(10);
  f.put1("dup", "later");
  f.clock.advance_ms(10);
  f.put1("dup", "latest");
  ASSERT_GT(f.records().size(), 60u);
  f.reopen();  // indexes of the sealed segments persisted and closed
  const std::string base = f.dir.path() + "/" + segment_file_name(Offset(0), SegmentFile::log);
  const std::string idx = f.dir.path() + "/" + segment_file_name(Offset(0), SegmentFile::index);
  const std::string tix = f.dir.path() + "/" + segment_file_name(Offset(0), SegmentFile::timeindex);
  auto slurp = [](const std::string& p) {
    auto file = platform::File::open(p, platform::File::Mode::read_only);
    EXPECT_TRUE(file.ok()) << p;
    std::vector<std::byte> out(static_cast<size_t>(file->size().value()));
    EXPECT_TRUE(file->pread_exact(out, 0).ok());
    return out;
  };
  const auto old_idx = slurp(idx), old_tix = slurp(tix);
  ASSERT_GT(old_idx.size(), 8u);
  ASSERT_TRUE(clean(f, {}, true).value().has_value());
  const auto after = f.records();
  f.log.reset();
  ASSERT_TRUE(platform::write_file_atomic(idx, old_idx).ok());
  ASSERT_TRUE(platform::write_file_atomic(tix, old_tix).ok());
  f.reopen();
  const auto again = f.records();
  ASSERT_EQ(again.size(), after.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(again[i].offset, after[i].offset);
  // A read from the middle of the cleaned segment finds its batch too.
  for (const auto& r : after) {
    auto rr = f.log->read(Offset(r.offset), 1);
    ASSERT_TRUE(rr.ok()) << rr.error().to_string();
    ASSERT_GT(rr->batch_count, 0u);
  }
  (void)base;
}

}  // namespace
}  // namespace ferry::storage
