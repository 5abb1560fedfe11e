// Kafka record batch v2 (magic 2): the unit ferry stores on disk and sends on the wire.
//
// Byte layout (all integers big-endian), as defined by Kafka's DefaultRecordBatch:
//
//   off  size  field
//     0     8  baseOffset            assigned by the log on append
//     8     4  batchLength           bytes after this field: total size = 12 + batchLength
//    12     4  partitionLeaderEpoch  leader epoch / Raft term, set by the leader
//    16     1  magic                 2
//    17     4  crc                   CRC32C of bytes [21, end), i.e. from `attributes` on
//    21     2  attributes            bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd),
//                                    bit 3 timestamp type (1 = log append time),
//                                    bit 4 transactional, bit 5 control, bit 6 delete horizon
//    23     4  lastOffsetDelta       offset of the last record minus baseOffset
//    27     8  baseTimestamp
//    35     8  maxTimestamp
//    43     8  producerId            -1 when not idempotent
//    51     2  producerEpoch
//    53     4  baseSequence
//    57     4  recordCount
//    61     -  records               (compressed as a whole when codec != 0)
//
// Because the CRC starts at `attributes`, baseOffset, batchLength and partitionLeaderEpoch can
// be rewritten (by the log, by the leader) without recomputing it.
//
// Each record inside (uncompressed form), lengths and deltas as zig-zag varints:
//   length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
//   keyLength varint (-1 = null), key, valueLength varint (-1 = null), value,
//   headerCount varint, headers [keyLength varint, key, valueLength varint, value].
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "common/strong_types.h"

namespace ferry::protocol {

namespace batch_layout {
inline constexpr size_t kBaseOffset = 0;
inline constexpr size_t kBatchLength = 8;
inline constexpr size_t kPartitionLeaderEpoch = 12;
inline constexpr size_t kMagic = 16;
inline constexpr size_t kCrc = 17;
inline constexpr size_t kAttributes = 21;
inline constexpr size_t kLastOffsetDelta = 23;
inline constexpr size_t kBaseTimestamp = 27;
inline constexpr size_t kMaxTimestamp = 35;
inline constexpr size_t kProducerId = 43;
inline constexpr size_t kProducerEpoch = 51;
inline constexpr size_t kBaseSequence = 53;
inline constexpr size_t kRecordCount = 57;
inline constexpr size_t kRecords = 61;
inline constexpr size_t kHeaderSize = 61;
// The prefix that tells how long a batch is: baseOffset + batchLength.
inline constexpr size_t kLogOverhead = 12;
static_assert(kRecords == kHeaderSize && kRecordCount + 4 == kHeaderSize);
static_assert(kCrc + 4 == kAttributes);
}  // namespace batch_layout

inline constexpr int8_t kMagicV2 = 2;

enum class Compression : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
std::string_view compression_name(Compression c) noexcept;

namespace batch_attr {
inline constexpr uint16_t kCompressionMask = 0x07;
inline constexpr uint16_t kTimestampTypeLogAppend = 0x08;
inline constexpr uint16_t kTransactional = 0x10;
inline constexpr uint16_t kControl = 0x20;
inline constexpr uint16_t kDeleteHorizon = 0x40;
}  // namespace batch_attr

// A read-only view of one complete batch (exactly 12 + batchLength bytes). Accessors read the
// header directly; the view does not own the bytes.
class BatchView {
 public:
  BatchView() = default;
  explicit BatchView(std::span<const std::byte> bytes) : b_(bytes) {}

  std::span<const std::byte> bytes() const noexcept { return b_; }
  size_t size() const noexcept { return b_.size(); }

  Offset base_offset() const noexcept { return Offset(load_i64(p(batch_layout::kBaseOffset))); }
  Offset last_offset() const noexcept { return base_offset() + last_offset_delta(); }
  Offset next_offset() const noexcept { return last_offset() + 1; }
  int32_t batch_length() const noexcept { return load_i32(p(batch_layout::kBatchLength)); }
  LeaderEpoch leader_epoch() const noexcept {
    return LeaderEpoch(load_i32(p(batch_layout::kPartitionLeaderEpoch)));
  }
  int8_t magic() const noexcept { return static_cast<int8_t>(b_[batch_layout::kMagic]); }
  uint32_t crc() const noexcept { return load_be32(p(batch_layout::kCrc)); }
  uint16_t attributes() const noexcept { return load_be16(p(batch_layout::kAttributes)); }
  Compression compression() const noexcept {
    return static_cast<Compression>(attributes() & batch_attr::kCompressionMask);
  }
  bool is_control() const noexcept { return (attributes() & batch_attr::kControl) != 0; }
  bool is_transactional() const noexcept {
    return (attributes() & batch_attr::kTransactional) != 0;
  }
  int32_t last_offset_delta() const noexcept { return load_i32(p(batch_layout::kLastOffsetDelta)); }
  int64_t base_timestamp() const noexcept { return load_i64(p(batch_layout::kBaseTimestamp)); }
  int64_t max_timestamp() const noexcept { return load_i64(p(batch_layout::kMaxTimestamp)); }
  ProducerId producer_id() const noexcept {
    return ProducerId(load_i64(p(batch_layout::kProducerId)));
  }
  int16_t producer_epoch() const noexcept { return load_i16(p(batch_layout::kProducerEpoch)); }
  int32_t base_sequence() const noexcept { return load_i32(p(batch_layout::kBaseSequence)); }
  int32_t record_count() const noexcept { return load_i32(p(batch_layout::kRecordCount)); }
  std::span<const std::byte> records_bytes() const noexcept {
    return b_.subspan(batch_layout::kRecords);
  }

 private:
  const std::byte* p(size_t off) const noexcept { return b_.data() + off; }
  std::span<const std::byte> b_;
};

// CRC32C over bytes [21, end) of a batch of at least 61 bytes.
uint32_t compute_batch_crc(std::span<const std::byte> batch) noexcept;

// Validates one complete batch as storage needs it: size >= 61 and == 12 + batchLength, magic 2,
// CRC, a record count >= 0 with lastOffsetDelta consistent with it, a known codec, and for
// uncompressed batches check_records. Never trusts a length field before checking it against
// `bytes`. Errors are Errc::corrupt (or unsupported for an unknown codec/magic). The stricter
// rules for batches a client produces are in protocol/batch_validator.h.
Status validate_batch(std::span<const std::byte> bytes);

// Checks an uncompressed records section: exactly `count` well-formed records (lengths, varints,
// key, value and headers within bounds) that use every byte, with offset deltas strictly
// increasing within [0, last_offset_delta] (true of every batch Kafka writes, compacted ones
// included). Allocates nothing. Errors are Errc::corrupt.
Status check_records(std::span<const std::byte> records, int32_t count, int32_t last_offset_delta);

// Given the bytes at the start of a buffer, returns the size of the first batch as declared by
// its header (12 + batchLength), or nullopt if fewer than 12 bytes are available or the declared
// length is impossible (< 49). Used to frame batches in a stream without trusting the rest.
std::optional<size_t> declared_batch_size(std::span<const std::byte> bytes) noexcept;

// In-place header rewrites that do not touch the CRC-covered range.
inline void set_base_offset(std::span<std::byte> batch, Offset off) noexcept {
  store_i64(batch.data() + batch_layout::kBaseOffset, off.value());
}
inline void set_leader_epoch(std::span<std::byte> batch, LeaderEpoch e) noexcept {
  store_i32(batch.data() + batch_layout::kPartitionLeaderEpoch, e.value());
}
// Rewrites producer id/epoch/base sequence and recomputes the CRC (the mirror's rewrite).
void set_producer_fields(std::span<std::byte> batch, ProducerId pid, int16_t epoch,
                         int32_t base_sequence) noexcept;

// One record decoded from an uncompressed records section. Views point into the source.
struct Record {
  int8_t attributes = 0;
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  std::optional<std::span<const std::byte>> key;  // nullopt = null key
  std::optional<std::span<const std::byte>> value;
  struct Header {
    std::span<const std::byte> key;
    std::optional<std::span<const std::byte>> value;
  };
  std::vector<Header> headers;
};

// Decodes every record of a batch, decompressing first when needed (into `scratch`, which must
// outlive the returned views). Fails with corrupt on malformed records (or a batch shorter than
// its header), unsupported for zstd (ferry stores zstd batches but does not decode them).
// Decompressed output (gzip, snappy, lz4; protocol/compression.h) is bounded by
// kMaxInflatedBytes (64 MiB): gzip and snappy beyond it are too_large, lz4 corrupt.
Result<std::vector<Record>> decode_records(const BatchView& batch, std::vector<std::byte>& scratch);

// Builds batches: used by tests, the benchmark and later the client.
struct RecordInput {
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  int64_t timestamp_ms = 0;
  std::vector<std::pair<std::string_view, std::optional<std::string_view>>> headers;
};
struct BuildOptions {
  Compression compression = Compression::none;  // none or lz4
  Offset base_offset{0};
  ProducerId producer_id{-1};
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  LeaderEpoch leader_epoch{-1};
  bool log_append_time = false;
};
Result<std::vector<std::byte>> build_batch(std::span<const RecordInput> records,
                                           const BuildOptions& options);

// The batch a new leader writes first in its epoch: v2, no records (recordCount 0), one offset
// (lastOffsetDelta 0), attributes 0 (not a control batch: some clients hand control records to
// the application), no producer, both timestamps `timestamp_ms`, stamped `epoch`. Clients step
// over it as they step over a batch whose records compaction removed.
std::vector<std::byte> build_epoch_start_batch(LeaderEpoch epoch, int64_t timestamp_ms);

// Re-encodes an uncompressed batch as LZ4 (Kafka's LZ4 frame, codec 3), keeping every header
// field and the records' content; recomputes batchLength and CRC. A compressed input is an
// invalid_argument error. The caller compares sizes and may keep the original when LZ4 does not
// make the batch smaller. The input should have passed validate_batch (only its framing is
// checked here: a corrupt record section would come out with a valid CRC). The frame is written
// as described in protocol/lz4_frame.h.
Result<std::vector<std::byte>> recompress_lz4(const BatchView& uncompressed);

}  // namespace ferry::protocol
