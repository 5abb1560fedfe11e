// One cleaner pass: the key map over the dirty part of a log, then cleaned copies of the
// segments that change. See cleaner_pass.h.
#include "storage/cleaner_pass.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <thread>

#include "common/bytes.h"
#include "common/flash_accounting.h"
#include "common/log.h"
#include "platform/file.h"
#include "protocol/lz4_frame.h"
#include "protocol/record_batch.h"
#include "protocol/varint.h"
#include "storage/cleaner_map.h"
#include "storage/segment_name.h"

namespace ferry::storage {
namespace {

namespace bl = protocol::batch_layout;
namespace ba = protocol::batch_attr;

constexpr size_t kReadChunk = 256u << 10;
constexpr size_t kWriteChunk = 256u << 10;

int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Sequential reader of whole batches from a segment file through a bounded buffer.
class BatchReader {
 public:
  BatchReader(platform::File& f, uint64_t size, uint32_t max_batch, IoThrottle* throttle,
              uint64_t& bytes_read)
      : f_(f), size_(size), max_batch_(max_batch), throttle_(throttle), bytes_read_(bytes_read) {}

  // The next batch (valid until the next call), or an empty span at the end of the file.
  Result<std::span<const std::byte>> next() {
    if (pos_ >= size_) return std::span<const std::byte>();
    FERRY_TRY(fill(bl::kLogOverhead));
    auto declared = protocol::declared_batch_size(window());
    if (!declared || *declared > max_batch_ || pos_ + *declared > size_) {
      return Error(Errc::corrupt,
                   f_.path() + ": bad batch length at " + std::to_string(pos_) + " while cleaning");
    }
    FERRY_TRY(fill(*declared));
    auto out = window().first(*declared);
    at_ = pos_;
    pos_ += *declared;
    return out;
  }
  uint64_t position() const noexcept { return at_; }  // of the batch next() returned
  uint64_t end_position() const noexcept { return pos_; }

 private:
  std::span<const std::byte> window() const {
    return std::span<const std::byte>(buf_).subspan(static_cast<size_t>(pos_ - buf_start_),
                                                    static_cast<size_t>(buf_end_ - pos_));
  }
  Status fill(size_t need) {
    if (pos_ >= buf_start_ && pos_ + need <= buf_end_) return {};
    const uint64_t want64 = std::min<uint64_t>(std::max<size_t>(need, kReadChunk), size_ - pos_);
    const auto want = static_cast<size_t>(want64);
    buf_.resize(want);
    if (throttle_ != nullptr) throttle_->consume(want);
    FERRY_TRY(f_.pread_exact(buf_, pos_));
    bytes_read_ += want;
    buf_start_ = pos_;
    buf_end_ = pos_ + want;
    if (want < need) return Error(Errc::corrupt, f_.path() + ": batch past the end of the file");
    return {};
  }

  platform::File& f_;
  uint64_t size_;
  uint32_t max_batch_;
  IoThrottle* throttle_;
  uint64_t& bytes_read_;
  std::vector<std::byte> buf_;
  uint64_t buf_start_ = 0, buf_end_ = 0;
  uint64_t pos_ = 0, at_ = 0;
};

// The cleaned copy of one segment, created at the first batch that changes.
class CleanedWriter {
 public:
  CleanedWriter(platform::FileSystem& fs, std::string path, IoThrottle* throttle,
                uint64_t& bytes_written)
      : fs_(fs), path_(std::move(path)), throttle_(throttle), bytes_written_(bytes_written) {}
  ~CleanedWriter() {
    if (file_ && !done_) {
      (void)file_->close();
      (void)fs_.unlink(path_);
    }
  }
  bool started() const noexcept { return file_.has_value(); }
  uint64_t size() const noexcept { return written_ + buf_.size(); }

  // Creates the file and copies `source`'s first `prefix` bytes (batches that did not change).
  Status start(platform::File& source, uint64_t prefix, uint64_t& bytes_read) {
    if (fs_.exists(path_)) FERRY_TRY(fs_.unlink(path_));  // left by an abandoned pass
    auto f = fs_.open(path_, platform::File::Mode::create_new);
    if (!f) return std::move(f).error();
    file_ = std::move(f).value();
    std::vector<std::byte> chunk;
    for (uint64_t at = 0; at < prefix;) {
      const auto n = static_cast<size_t>(std::min<uint64_t>(kWriteChunk, prefix - at));
      chunk.resize(n);
      if (throttle_ != nullptr) throttle_->consume(n);
      FERRY_TRY(source.pread_exact(chunk, at));
      bytes_read += n;
      FERRY_TRY(append(chunk));
      at += n;
    }
    return {};
  }
  Status append(std::span<const std::byte> bytes) {
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
    if (buf_.size() >= kWriteChunk) return drain();
    return {};
  }
  // Writes what is buffered and fdatasyncs the file.
  Status finish() {
    FERRY_TRY(drain());
    FERRY_TRY(file_->datasync());
    FERRY_TRY(file_->close());
    done_ = true;
    return {};
  }

 private:
  Status drain() {
    if (buf_.empty()) return {};
    if (throttle_ != nullptr) throttle_->consume(buf_.size());
    FERRY_TRY(file_->pwrite_all(buf_, written_));
    flash::count_written(flash::WriteKind::compaction, buf_.size());
    written_ += buf_.size();
    bytes_written_ += buf_.size();
    buf_.clear();
    return {};
  }

  platform::FileSystem& fs_;
  std::string path_;
  IoThrottle* throttle_;
  uint64_t& bytes_written_;
  std::optional<platform::File> file_;
  std::vector<std::byte> buf_;
  uint64_t written_ = 0;
  bool done_ = false;
};

// A batch of header `v` holding `records` (absolute timestamps `ts`), LZ4-compressed, with the
// original offsets and producer fields. `horizon`: the delete horizon to record, if any.
Result<std::vector<std::byte>> rebuild_batch(const protocol::BatchView& v,
                                             const std::vector<const protocol::Record*>& records,
                                             const std::vector<int64_t>& ts,
                                             std::optional<int64_t> horizon) {
  const int64_t base_ts = horizon ? *horizon : ts.front();
  std::vector<std::byte> plain;
  std::vector<std::byte> body;
  for (size_t i = 0; i < records.size(); ++i) {
    const protocol::Record& r = *records[i];
    body.clear();
    body.push_back(static_cast<std::byte>(r.attributes));
    protocol::write_varlong(
        body, static_cast<int64_t>(static_cast<uint64_t>(ts[i]) - static_cast<uint64_t>(base_ts)));
    protocol::write_varint(body, r.offset_delta);
    auto put_bytes = [&](const std::optional<std::span<const std::byte>>& b) {
      if (!b) {
        protocol::write_varint(body, -1);
        return;
      }
      protocol::write_varint(body, static_cast<int32_t>(b->size()));
      body.insert(body.end(), b->begin(), b->end());
    };
    put_bytes(r.key);
    put_bytes(r.value);
    protocol::write_varint(body, static_cast<int32_t>(r.headers.size()));
    for (const auto& h : r.headers) {
      protocol::write_varint(body, static_cast<int32_t>(h.key.size()));
      body.insert(body.end(), h.key.begin(), h.key.end());
      put_bytes(h.value);
    }
    protocol::write_varint(plain, static_cast<int32_t>(body.size()));
    plain.insert(plain.end(), body.begin(), body.end());
  }
  auto frame = protocol::lz4_frame_compress(plain);
  if (!frame) return std::move(frame).error();
  std::vector<std::byte> out(bl::kHeaderSize);
  std::copy_n(v.bytes().begin(), bl::kHeaderSize, out.begin());
  out.insert(out.end(), frame->begin(), frame->end());
  uint16_t attrs = static_cast<uint16_t>(
      (v.attributes() & ~(ba::kCompressionMask | ba::kDeleteHorizon)) |
      static_cast<uint16_t>(protocol::Compression::lz4) | (horizon ? ba::kDeleteHorizon : 0));
  store_be16(out.data() + bl::kAttributes, attrs);
  store_i64(out.data() + bl::kBaseTimestamp, base_ts);
  store_i32(out.data() + bl::kRecordCount, static_cast<int32_t>(records.size()));
  store_i32(out.data() + bl::kBatchLength, static_cast<int32_t>(out.size() - bl::kLogOverhead));
  store_be32(out.data() + bl::kCrc, protocol::compute_batch_crc(out));
  return out;
}

// The header of `v` with no records: what is left of a batch whose records all went but whose
// offsets and producer fields must stay.
std::vector<std::byte> empty_batch(const protocol::BatchView& v) {
  std::vector<std::byte> out(bl::kHeaderSize);
  std::copy_n(v.bytes().begin(), bl::kHeaderSize, out.begin());
  const auto attrs =
      static_cast<uint16_t>(v.attributes() & ~(ba::kCompressionMask | ba::kDeleteHorizon));
  store_be16(out.data() + bl::kAttributes, attrs);
  store_i32(out.data() + bl::kRecordCount, 0);
  store_i32(out.data() + bl::kBatchLength,
            static_cast<int32_t>(bl::kHeaderSize - bl::kLogOverhead));
  store_be32(out.data() + bl::kCrc, protocol::compute_batch_crc(out));
  return out;
}

Status check_crc(const protocol::BatchView& v, const std::string& path, uint64_t pos) {
  if (v.size() < bl::kHeaderSize || v.magic() != protocol::kMagicV2 ||
      v.crc() != protocol::compute_batch_crc(v.bytes())) {
    return Error(Errc::corrupt, path + ": batch at " + std::to_string(pos) +
                                    " fails its CRC; not cleaning this log");
  }
  return {};
}

}  // namespace

void IoThrottle::set_rate(uint64_t bytes_per_second) {
  std::lock_guard lock(mu_);
  rate_ = bytes_per_second;
}

uint64_t IoThrottle::slept_ms() const {
  std::lock_guard lock(mu_);
  return slept_ms_;
}

void IoThrottle::consume(uint64_t bytes) {
  int64_t sleep_us = 0;
  {
    std::lock_guard lock(mu_);
    if (rate_ == 0) return;
    const int64_t now = steady_us();
    const double rate = static_cast<double>(rate_);
    if (last_us_ < 0) {
      last_us_ = now;
      tokens_ = rate / 10;  // a small burst allowance: 100 ms worth
    }
    tokens_ = std::min(rate / 10, tokens_ + static_cast<double>(now - last_us_) * rate / 1e6);
    last_us_ = now;
    tokens_ -= static_cast<double>(bytes);
    if (tokens_ < 0) sleep_us = static_cast<int64_t>(-tokens_ * 1e6 / rate);
    slept_ms_ += static_cast<uint64_t>(sleep_us / 1000);
  }
  if (sleep_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
}

Result<PassResult> run_clean_pass(const PassPlan& plan) {
  PassResult res;
  if (plan.segments.empty()) return Error(Errc::invalid_argument, "clean pass: no segments");
  platform::FileSystem& fs = *plan.fs;
  auto path_of = [&](Offset base) {
    return plan.dir + "/" + segment_file_name(base, SegmentFile::log);
  };

  // 1. The key map over [first_dirty, end of the plan), stopping at a batch boundary when full.
  OffsetMap map(plan.dedupe_buffer_bytes);
  res.map_memory_bytes = map.memory_bytes();
  Offset map_end = plan.first_dirty;
  std::vector<std::byte> scratch;
  for (const PassSegment& seg : plan.segments) {
    if (seg.end <= plan.first_dirty) continue;
    auto f = fs.open(path_of(seg.base), platform::File::Mode::read_only);
    if (!f) return std::move(f).error();
    BatchReader reader(*f, seg.size, plan.max_batch_bytes, plan.throttle, res.bytes_read);
    for (;;) {
      auto b = reader.next();
      if (!b) return std::move(b).error();
      if (b->empty()) break;
      protocol::BatchView v(*b);
      FERRY_TRY(check_crc(v, f->path(), reader.position()));
      if (v.last_offset() < plan.first_dirty) continue;
      if (v.is_control()) {
        map_end = v.next_offset();
        continue;
      }
      auto recs = protocol::decode_records(v, scratch);
      if (!recs) {
        if (recs.error().code() != Errc::unsupported) return std::move(recs).error();
        map_end = v.next_offset();  // zstd: kept whole, its keys not in the map
        continue;
      }
      if (!map.has_room_for(recs->size())) {
        res.map_full = true;
        break;
      }
      for (const auto& r : *recs) {
        if (r.key) map.put(hash_key(*r.key), v.base_offset() + r.offset_delta);
      }
      map_end = v.next_offset();
    }
    if (res.map_full) break;
    map_end = std::max(map_end, seg.end);
  }
  if (res.map_full && map_end <= plan.first_dirty) {
    return Error(Errc::too_large, plan.dir +
                                      ": log.cleaner.dedupe.buffer.size cannot hold the keys of "
                                      "one batch; not cleaning this log");
  }
  res.keys = map.size();
  res.clean_point = map_end;

  // 2. Cleaned copies of the segments below map_end that change.
  struct Cleanup {  // an error removes the copies already written
    platform::FileSystem& fs;
    const std::string& dir;
    std::vector<CleanedSegment>* list;
    ~Cleanup() {
      if (list != nullptr) discard_cleaned(fs, dir, *list);
    }
  } cleanup{fs, plan.dir, &res.cleaned};
  auto note_horizon = [&](int64_t h) {
    res.earliest_horizon_ms = std::min(res.earliest_horizon_ms.value_or(h), h);
  };
  for (const PassSegment& seg : plan.segments) {
    if (seg.base >= map_end) break;
    auto f = fs.open(path_of(seg.base), platform::File::Mode::read_only);
    if (!f) return std::move(f).error();
    BatchReader reader(*f, seg.size, plan.max_batch_bytes, plan.throttle, res.bytes_read);
    CleanedWriter out(fs, cleaned_path(plan.dir, seg.base), plan.throttle, res.bytes_written);
    auto changed = [&](uint64_t pos) -> Status {
      if (out.started()) return {};
      return out.start(*f, pos, res.bytes_read);
    };
    for (;;) {
      auto b = reader.next();
      if (!b) return std::move(b).error();
      if (b->empty()) break;
      const uint64_t pos = reader.position();
      const bool last_in_segment = reader.end_position() >= seg.size;
      protocol::BatchView v(*b);
      FERRY_TRY(check_crc(v, f->path(), pos));
      auto keep_as_is = [&]() -> Status { return out.started() ? out.append(*b) : Status{}; };
      if (v.is_control() || v.base_offset() >= map_end) {
        FERRY_TRY(keep_as_is());
        continue;
      }
      auto recs = protocol::decode_records(v, scratch);
      if (!recs) {
        if (recs.error().code() != Errc::unsupported) return std::move(recs).error();
        FERRY_TRY(keep_as_is());
        continue;
      }
      const bool append_time = (v.attributes() & ba::kTimestampTypeLogAppend) != 0;
      const bool had_horizon = (v.attributes() & ba::kDeleteHorizon) != 0;
      const bool horizon_passed = had_horizon && plan.now_ms >= v.base_timestamp();
      std::vector<const protocol::Record*> kept;
      std::vector<int64_t> ts;
      bool live_tombstone = false;
      for (const auto& r : *recs) {
        const Offset o = v.base_offset() + r.offset_delta;
        bool keep = true;
        if (o < map_end) {
          if (!r.key) {
            keep = false;  // compacted topics have no null keys
          } else if (auto latest = map.get(hash_key(*r.key)); latest && o < *latest) {
            keep = false;
          } else if (!r.value) {
            if (horizon_passed) {
              keep = false;
              ++res.tombstones_removed;
            } else {
              live_tombstone = true;
            }
          }
        }
        if (!keep) {
          ++res.records_removed;
          continue;
        }
        kept.push_back(&r);
        ts.push_back(append_time ? v.max_timestamp()
                                 : static_cast<int64_t>(static_cast<uint64_t>(v.base_timestamp()) +
                                                        static_cast<uint64_t>(r.timestamp_delta)));
      }
      const bool needs_horizon = live_tombstone && !had_horizon;
      if (live_tombstone && had_horizon) note_horizon(v.base_timestamp());
      if (kept.size() == recs->size() && !needs_horizon && (had_horizon == live_tombstone)) {
        FERRY_TRY(keep_as_is());
        continue;
      }
      FERRY_TRY(changed(pos));
      ++res.batches_rewritten;
      if (kept.empty()) {
        if (v.producer_id().value() >= 0 || last_in_segment) FERRY_TRY(out.append(empty_batch(v)));
        continue;
      }
      std::optional<int64_t> horizon;
      if (live_tombstone) {
        horizon = had_horizon ? v.base_timestamp() : plan.now_ms + plan.delete_retention_ms;
        note_horizon(*horizon);
      }
      auto rebuilt = rebuild_batch(v, kept, ts, horizon);
      if (!rebuilt) return std::move(rebuilt).error();
      FERRY_TRY(out.append(*rebuilt));
    }
    if (out.started()) {
      FERRY_TRY(out.finish());
      res.cleaned.push_back({seg.base, seg.size, out.size()});
    }
  }
  if (!res.cleaned.empty()) FERRY_TRY(fs.sync_dir(plan.dir));
  cleanup.list = nullptr;
  return res;
}

}  // namespace ferry::storage
