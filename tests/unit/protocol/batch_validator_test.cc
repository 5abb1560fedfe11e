// Produced-batch validation (Kafka's client-origin rules): one test per rule, each codec, the
// CRC taking precedence, and the inflation bound.
#include "protocol/batch_validator.h"

#include <gtest/gtest.h>

#include <climits>
#include <string>
#include <vector>

#include "batch_test_util.h"
#include "protocol/compression.h"
#include "protocol/varint.h"

namespace ferry::protocol {
namespace {

namespace bl = batch_layout;
using testing::refresh_crc;
using testing::refresh_length_and_crc;

constexpr Compression kCodecs[] = {Compression::none, Compression::gzip, Compression::snappy,
                                   Compression::lz4, Compression::zstd};

// One uncompressed record: key and value given, no headers unless `header_bytes` is set.
std::vector<std::byte> record(int32_t offset_delta, const std::string& value,
                              std::vector<std::byte> header_bytes = {std::byte{0}}) {
  std::vector<std::byte> body;
  body.push_back(std::byte{0});  // attributes
  write_varlong(body, 0);        // timestampDelta
  write_varint(body, offset_delta);
  write_varint(body, -1);  // null key
  write_varint(body, static_cast<int32_t>(value.size()));
  for (char c : value) body.push_back(static_cast<std::byte>(c));
  body.insert(body.end(), header_bytes.begin(), header_bytes.end());
  std::vector<std::byte> out;
  write_varint(out, static_cast<int32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// A batch with the given records section (compressed with `codec`), recordCount and
// lastOffsetDelta, with consistent batchLength and CRC.
std::vector<std::byte> batch_of(const std::vector<std::byte>& records, int32_t count,
                                int32_t last_delta, Compression codec = Compression::none) {
  auto b = build_batch(std::vector<RecordInput>{{std::nullopt, "x", 0, {}}}, BuildOptions{});
  EXPECT_TRUE(b.ok());
  std::vector<std::byte> out(b->begin(), b->begin() + bl::kHeaderSize);
  auto packed = compress(codec, records);
  EXPECT_TRUE(packed.ok());
  out.insert(out.end(), packed->begin(), packed->end());
  store_be16(out.data() + bl::kAttributes, static_cast<uint16_t>(codec));
  store_i32(out.data() + bl::kRecordCount, count);
  store_i32(out.data() + bl::kLastOffsetDelta, last_delta);
  refresh_length_and_crc(out);
  return out;
}

std::vector<std::byte> records_0_to(int32_t n) {
  std::vector<std::byte> out;
  for (int32_t i = 0; i < n; ++i) {
    auto r = record(i, "value-" + std::to_string(i));
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

BatchFault fault_of(const std::vector<std::byte>& b, const ProducedBatchLimits& l = {}) {
  return validate_produced_batch(b, l).fault;
}

TEST(BatchValidator, WellFormedBatchesOfEveryCodecPass) {
  for (Compression c : kCodecs) {
    auto b = batch_of(records_0_to(5), 5, 4, c);
    EXPECT_TRUE(validate_produced_batch(b).ok())
        << compression_name(c) << ": " << validate_produced_batch(b).reason;
    EXPECT_TRUE(validate_produced_header(b).ok());
    EXPECT_TRUE(validate_compressed_records(b).ok());
  }
}

// The defect: one record claiming 2^31 offsets moved the partition end by 2^31.
TEST(BatchValidator, LastOffsetDeltaMustBeRecordCountMinusOne) {
  for (Compression c : kCodecs) {
    auto b = batch_of(records_0_to(1), 1, INT32_MAX, c);
    EXPECT_EQ(validate_produced_header(b).fault, BatchFault::invalid_record) << compression_name(c);
    EXPECT_EQ(fault_of(b), BatchFault::invalid_record);
    // Storage's own check accepts it (compaction may leave such gaps), so only this rule stops it.
    EXPECT_TRUE(validate_batch(b).ok());
  }
  EXPECT_EQ(fault_of(batch_of(records_0_to(3), 3, 1)), BatchFault::invalid_record);
}

TEST(BatchValidator, RecordCountMustBePositiveAndMatchTheRecords) {
  EXPECT_EQ(fault_of(batch_of({}, 0, -1)), BatchFault::invalid_record);
  EXPECT_EQ(fault_of(batch_of(records_0_to(1), -1, -2)), BatchFault::invalid_record);
  for (Compression c : kCodecs) {
    // Fewer records than counted, and more.
    EXPECT_EQ(fault_of(batch_of(records_0_to(2), 3, 2, c)), BatchFault::invalid_record)
        << compression_name(c);
    EXPECT_EQ(fault_of(batch_of(records_0_to(4), 3, 2, c)), BatchFault::invalid_record)
        << compression_name(c);
  }
}

TEST(BatchValidator, OffsetDeltasMustBeZeroToCountMinusOneInOrder) {
  for (Compression c : kCodecs) {
    std::vector<std::byte> swapped;
    for (int32_t d : {1, 0, 2}) {
      auto r = record(d, "v");
      swapped.insert(swapped.end(), r.begin(), r.end());
    }
    EXPECT_EQ(fault_of(batch_of(swapped, 3, 2, c)), BatchFault::invalid_record)
        << compression_name(c);
    std::vector<std::byte> gap;
    for (int32_t d : {0, 2, 3}) {
      auto r = record(d, "v");
      gap.insert(gap.end(), r.begin(), r.end());
    }
    EXPECT_EQ(fault_of(batch_of(gap, 3, 2, c)), BatchFault::invalid_record);
    EXPECT_EQ(fault_of(batch_of(record(-1, "v"), 1, 0, c)), BatchFault::invalid_record);
  }
}

TEST(BatchValidator, RecordLengthsAndVarintsMustBeConsistent) {
  for (Compression c : kCodecs) {
    auto r = record(0, "abc");
    // Record length one too long and one too short.
    auto longer = r;
    longer[0] = std::byte{static_cast<uint8_t>(static_cast<uint8_t>(r[0]) + 2)};
    EXPECT_EQ(fault_of(batch_of(longer, 1, 0, c)), BatchFault::invalid_record);
    auto shorter = r;
    shorter[0] = std::byte{static_cast<uint8_t>(static_cast<uint8_t>(r[0]) - 2)};
    EXPECT_EQ(fault_of(batch_of(shorter, 1, 0, c)), BatchFault::invalid_record);
    // A varint that never ends.
    std::vector<std::byte> endless(12, std::byte{0xFF});
    EXPECT_EQ(fault_of(batch_of(endless, 1, 0, c)), BatchFault::invalid_record);
    // Trailing bytes after the last record.
    auto trailing = r;
    trailing.push_back(std::byte{0});
    EXPECT_EQ(fault_of(batch_of(trailing, 1, 0, c)), BatchFault::invalid_record);
  }
}

TEST(BatchValidator, HeadersMustDecode) {
  for (Compression c : kCodecs) {
    // headerCount 1, null key: refused (a header key is a non-null string).
    std::vector<std::byte> null_key;
    write_varint(null_key, 1);
    write_varint(null_key, -1);
    write_varint(null_key, -1);
    EXPECT_EQ(fault_of(batch_of(record(0, "v", null_key), 1, 0, c)), BatchFault::invalid_record)
        << compression_name(c);
    // headerCount 5 with one header present.
    std::vector<std::byte> short_count;
    write_varint(short_count, 5);
    write_varint(short_count, 1);
    short_count.push_back(std::byte{'h'});
    write_varint(short_count, -1);
    EXPECT_EQ(fault_of(batch_of(record(0, "v", short_count), 1, 0, c)), BatchFault::invalid_record);
    std::vector<std::byte> good;
    write_varint(good, 1);
    write_varint(good, 1);
    good.push_back(std::byte{'h'});
    write_varint(good, -1);
    EXPECT_TRUE(validate_produced_batch(batch_of(record(0, "v", good), 1, 0, c)).ok());
  }
}

// The defect: a "gzip" batch of garbage was acknowledged and then stopped every consumer.
TEST(BatchValidator, GarbageInsideACodecIsCorrupt) {
  for (Compression c :
       {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    auto b = batch_of(records_0_to(3), 3, 2, c);
    // Overwrite the compressed bytes with garbage behind a correct CRC.
    for (size_t i = bl::kRecords; i < b.size(); ++i) {
      b[i] = std::byte{static_cast<uint8_t>(i * 37 + 11)};
    }
    refresh_crc(b);
    EXPECT_TRUE(validate_batch(b).ok()) << "storage alone does not look inside the codec";
    EXPECT_EQ(validate_compressed_records(b).fault, BatchFault::corrupt) << compression_name(c);
    EXPECT_EQ(fault_of(b), BatchFault::corrupt) << compression_name(c);
  }
}

TEST(BatchValidator, ABadCrcIsCorruptWhateverElseIsWrong) {
  for (Compression c : kCodecs) {
    auto b = batch_of(records_0_to(2), 3, 7, c);  // bad count and lastOffsetDelta
    b[bl::kCrc] ^= std::byte{0x01};
    EXPECT_EQ(fault_of(b), BatchFault::corrupt) << compression_name(c);
    EXPECT_EQ(validate_produced_header(b).fault, BatchFault::corrupt);
    auto fine_header = batch_of(records_0_to(2), 3, 2, c);  // count only wrong inside
    fine_header.back() ^= std::byte{0x01};
    EXPECT_EQ(fault_of(fine_header), BatchFault::corrupt) << compression_name(c);
    if (c != Compression::none) {
      EXPECT_EQ(validate_compressed_records(fine_header).fault, BatchFault::corrupt);
    }
  }
}

TEST(BatchValidator, FramingAndMagic) {
  auto b = batch_of(records_0_to(1), 1, 0);
  auto cut = b;
  cut.resize(40);
  EXPECT_EQ(fault_of(cut), BatchFault::corrupt);
  auto longer = b;
  longer.push_back(std::byte{0});  // batchLength no longer matches
  EXPECT_EQ(fault_of(longer), BatchFault::corrupt);
  auto magic1 = b;
  magic1[bl::kMagic] = std::byte{1};
  refresh_crc(magic1);
  EXPECT_EQ(fault_of(magic1), BatchFault::corrupt);
  auto codec7 = b;
  store_be16(codec7.data() + bl::kAttributes, 7);
  refresh_crc(codec7);
  EXPECT_EQ(fault_of(codec7), BatchFault::unsupported_codec);
}

TEST(BatchValidator, ControlTransactionalAndSequenceRules) {
  auto with_attr = [](uint16_t attrs) {
    auto b = batch_of(records_0_to(1), 1, 0);
    store_be16(b.data() + bl::kAttributes, attrs);
    refresh_crc(b);
    return b;
  };
  EXPECT_EQ(fault_of(with_attr(batch_attr::kControl)), BatchFault::invalid_record);
  EXPECT_EQ(fault_of(with_attr(batch_attr::kTransactional)), BatchFault::invalid_record);
  auto idem = batch_of(records_0_to(1), 1, 0);
  store_i64(idem.data() + bl::kProducerId, 42);
  store_i16(idem.data() + bl::kProducerEpoch, 0);
  store_i32(idem.data() + bl::kBaseSequence, -1);
  refresh_crc(idem);
  EXPECT_EQ(fault_of(idem), BatchFault::invalid_record);
  store_i32(idem.data() + bl::kBaseSequence, 0);
  refresh_crc(idem);
  EXPECT_TRUE(validate_produced_batch(idem).ok());
}

TEST(BatchValidator, DecompressionIsBounded) {
  // 8 KiB of records that compress to far less; a 4 KiB bound refuses them as too large.
  std::vector<std::byte> big;
  for (int32_t i = 0; i < 64; ++i) {
    auto r = record(i, std::string(120, 'z'));
    big.insert(big.end(), r.begin(), r.end());
  }
  ProducedBatchLimits small;
  small.max_inflated_bytes = 4096;
  for (Compression c :
       {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    auto b = batch_of(big, 64, 63, c);
    EXPECT_LT(b.size(), 4096u) << compression_name(c);
    EXPECT_EQ(fault_of(b, small), BatchFault::too_large) << compression_name(c);
    EXPECT_TRUE(validate_produced_batch(b).ok()) << compression_name(c);
  }
}

// LZ4 records are decoded into a buffer each thread keeps: batches checked one after another,
// large and small, good and bad, each get their own verdict, as when checked alone.
TEST(BatchValidator, Lz4BatchesInARowAreEachCheckedWhole) {
  const auto large = batch_of(records_0_to(20000), 20000, 19999, Compression::lz4);
  const auto small = batch_of(records_0_to(3), 3, 2, Compression::lz4);
  // The large batch's records with one record fewer declared: the leftover bytes of a longer
  // earlier decode must not make up for it.
  auto short_records = records_0_to(20000);
  short_records.resize(short_records.size() - record(19999, "value-19999").size());
  const auto missing_last = batch_of(short_records, 20000, 19999, Compression::lz4);
  auto garbage = large;
  garbage[garbage.size() / 2] ^= std::byte{0x5A};
  refresh_crc(garbage);
  for (int round = 0; round < 2; ++round) {
    EXPECT_TRUE(validate_produced_batch(large).ok());
    EXPECT_EQ(fault_of(missing_last), BatchFault::invalid_record);
    EXPECT_TRUE(validate_produced_batch(small).ok());
    EXPECT_NE(fault_of(garbage), BatchFault::none);
    EXPECT_TRUE(validate_compressed_records(small).ok());
    EXPECT_EQ(validate_compressed_records(missing_last).fault, BatchFault::invalid_record);
    EXPECT_TRUE(validate_compressed_records(large).ok());
  }
}

// Storage's own check (used by the append and by recovery) now also refuses offset deltas that
// go backwards or past lastOffsetDelta in uncompressed batches.
TEST(BatchValidator, StorageCheckRefusesDeltasOutOfOrder) {
  std::vector<std::byte> swapped;
  for (int32_t d : {1, 0}) {
    auto r = record(d, "v");
    swapped.insert(swapped.end(), r.begin(), r.end());
  }
  EXPECT_EQ(testing::code_of(validate_batch(batch_of(swapped, 2, 1))), Errc::corrupt);
  EXPECT_EQ(testing::code_of(validate_batch(batch_of(record(5, "v"), 1, 4))), Errc::corrupt);
  // Gaps below lastOffsetDelta stay valid for storage (a compacted batch).
  std::vector<std::byte> gap;
  for (int32_t d : {0, 3}) {
    auto r = record(d, "v");
    gap.insert(gap.end(), r.begin(), r.end());
  }
  EXPECT_TRUE(validate_batch(batch_of(gap, 2, 5)).ok());
}

}  // namespace
}  // namespace ferry::protocol
