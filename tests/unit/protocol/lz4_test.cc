// Unit tests of LZ4 framing (lz4_frame.h) and of LZ4 record batches: recompress_lz4, build with
// lz4, independent decoding with plain liblz4, and the bound on decompressed size.
#include <gtest/gtest.h>
#include <lz4frame.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "batch_test_util.h"
#include "protocol/lz4_frame.h"
#include "protocol/record_batch.h"
#include "support/test_support.h"

namespace ferry::protocol {
namespace {

namespace bl = batch_layout;
using testing::code_of;
using testing::expect_records_equal;
using testing::refresh_crc;
using testing::refresh_length_and_crc;

std::vector<std::byte> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> out(n);
  for (auto& b : out) b = static_cast<std::byte>(rng());
  return out;
}

// Decodes a frame with liblz4 alone, as a client would.
std::vector<std::byte> plain_lz4f_decode(std::span<const std::byte> frame, size_t capacity) {
  LZ4F_dctx* dctx = nullptr;
  EXPECT_FALSE(LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
  std::vector<std::byte> out(capacity);
  size_t produced = 0;
  size_t rc = 1;
  while (rc != 0 && !frame.empty()) {
    size_t dst = out.size() - produced;
    size_t src = frame.size();
    rc = LZ4F_decompress(dctx, out.data() + produced, &dst, frame.data(), &src, nullptr);
    if (LZ4F_isError(rc)) break;
    produced += dst;
    frame = frame.subspan(src);
  }
  LZ4F_freeDecompressionContext(dctx);
  EXPECT_EQ(rc, 0u) << "frame did not decode completely";
  EXPECT_TRUE(frame.empty());
  out.resize(produced);
  return out;
}

// The error class of a decompression, Errc::ok on success.
Errc inflate_code(std::span<const std::byte> frame, size_t max_output = kMaxLz4InflatedBytes) {
  std::vector<std::byte> out;
  auto st = lz4_frame_decompress(frame, out, max_output);
  return st.ok() ? Errc::ok : st.error().code();
}

std::vector<RecordInput> repetitive_records(const std::string& value, int n) {
  std::vector<RecordInput> in;
  for (int i = 0; i < n; ++i) in.push_back(RecordInput{std::nullopt, value, 100 + i, {}});
  return in;
}

TEST(Lz4Frame, RoundTripsSmallLargeAndEmptyInput) {
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{100}, size_t{65536}, size_t{65537}, size_t{300000}}) {
    for (bool random : {false, true}) {
      const auto data = random ? random_bytes(n, 7) : std::vector<std::byte>(n, std::byte{'a'});
      auto frame = lz4_frame_compress(data);
      ASSERT_TRUE(frame.ok());
      std::vector<std::byte> out{std::byte{1}};  // previous contents are replaced
      ASSERT_TRUE(lz4_frame_decompress(*frame, out).ok()) << n;
      EXPECT_EQ(out, data) << n;
      EXPECT_EQ(plain_lz4f_decode(*frame, n + 1), data) << n;
    }
  }
}

// Kafka's Java producer: magic 0x184D2204, FLG version 01 + block independence (0x60),
// BD 64 KB (0x40), no content size, no checksums.
TEST(Lz4Frame, DescriptorMatchesKafkasProducer) {
  const std::vector<std::byte> data(200000, std::byte{'z'});
  auto frame = lz4_frame_compress(data);
  ASSERT_TRUE(frame.ok());
  ASSERT_GE(frame->size(), 7u);
  EXPECT_EQ((*frame)[0], std::byte{0x04});
  EXPECT_EQ((*frame)[1], std::byte{0x22});
  EXPECT_EQ((*frame)[2], std::byte{0x4D});
  EXPECT_EQ((*frame)[3], std::byte{0x18});
  EXPECT_EQ((*frame)[4], std::byte{0x60});
  EXPECT_EQ((*frame)[5], std::byte{0x40});
  // Ends with the 4-byte end mark.
  const auto* end = frame->data() + frame->size() - 4;
  EXPECT_EQ(load_be32(end), 0u);
  LZ4F_frameInfo_t info{};
  LZ4F_dctx* dctx = nullptr;
  ASSERT_FALSE(LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
  size_t consumed = frame->size();
  ASSERT_FALSE(LZ4F_isError(LZ4F_getFrameInfo(dctx, &info, frame->data(), &consumed)));
  LZ4F_freeDecompressionContext(dctx);
  EXPECT_EQ(info.blockSizeID, LZ4F_max64KB);
  EXPECT_EQ(info.blockMode, LZ4F_blockIndependent);
  EXPECT_EQ(info.contentChecksumFlag, LZ4F_noContentChecksum);
  EXPECT_EQ(info.contentSize, 0u);
}

TEST(Lz4Frame, DecodesFramesWrittenWithOtherOptions) {
  const auto data = random_bytes(150000, 3);
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max256KB;
  prefs.frameInfo.blockMode = LZ4F_blockLinked;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
  prefs.frameInfo.contentSize = data.size();
  std::vector<std::byte> frame(LZ4F_compressFrameBound(data.size(), &prefs));
  const size_t n = LZ4F_compressFrame(frame.data(), frame.size(), data.data(), data.size(), &prefs);
  ASSERT_FALSE(LZ4F_isError(n));
  frame.resize(n);
  std::vector<std::byte> out;
  ASSERT_TRUE(lz4_frame_decompress(frame, out).ok());
  EXPECT_EQ(out, data);
  // With a content checksum, damage in the data is always detected.
  frame[frame.size() / 2] ^= std::byte{0x10};
  EXPECT_EQ(inflate_code(frame), Errc::corrupt);
}

TEST(Lz4Frame, TruncatedTrailingAndGarbageFramesAreCorrupt) {
  const auto data = random_bytes(5000, 11);
  const auto frame = lz4_frame_compress(data).value();
  std::vector<std::byte> out;
  for (size_t n = 0; n < frame.size(); ++n) {
    EXPECT_EQ(inflate_code(std::span(frame).first(n)), Errc::corrupt) << n;
  }
  auto trailing = frame;
  trailing.push_back(std::byte{0});
  EXPECT_EQ(inflate_code(trailing), Errc::corrupt);
  auto two = frame;
  two.insert(two.end(), frame.begin(), frame.end());
  EXPECT_EQ(inflate_code(two), Errc::corrupt);
  auto bad_magic = frame;
  bad_magic[0] ^= std::byte{1};
  EXPECT_EQ(inflate_code(bad_magic), Errc::corrupt);
  auto bad_header_checksum = frame;
  bad_header_checksum[6] ^= std::byte{1};
  EXPECT_EQ(inflate_code(bad_header_checksum), Errc::corrupt);
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; ++i) {
    auto damaged = frame;
    damaged[rng() % damaged.size()] = static_cast<std::byte>(rng());
    (void)lz4_frame_decompress(damaged, out);  // must not crash or overrun
  }
}

TEST(Lz4Frame, OutputIsBoundedExactly) {
  const std::vector<std::byte> data(100000, std::byte{0});
  const auto frame = lz4_frame_compress(data).value();
  std::vector<std::byte> out;
  EXPECT_TRUE(lz4_frame_decompress(frame, out, data.size()).ok());
  EXPECT_EQ(out.size(), data.size());
  EXPECT_EQ(inflate_code(frame, data.size() - 1), Errc::corrupt);
  EXPECT_EQ(inflate_code(frame, 1000), Errc::corrupt);
  EXPECT_EQ(inflate_code(frame, 0), Errc::corrupt);
  const auto empty = lz4_frame_compress({}).value();
  EXPECT_TRUE(lz4_frame_decompress(empty, out, 0).ok());
  EXPECT_TRUE(out.empty());
}

// A frame of `blocks` copies of one independent 64 KB block of zeros: 64 KB x blocks of output
// from a few hundred bytes x blocks of input.
std::vector<std::byte> zero_frame(size_t blocks) {
  const std::vector<std::byte> block_data(size_t{64} << 10, std::byte{0});
  const auto one = lz4_frame_compress(block_data).value();
  const size_t header = 7;  // magic, FLG, BD, header checksum
  const std::span<const std::byte> block(one.data() + header, one.size() - header - 4);
  std::vector<std::byte> frame(one.begin(), one.begin() + header);
  for (size_t i = 0; i < blocks; ++i) frame.insert(frame.end(), block.begin(), block.end());
  frame.insert(frame.end(), 4, std::byte{0});  // end mark
  return frame;
}

TEST(Lz4Frame, DefaultBoundIs64MiB) {
  std::vector<std::byte> out;
  ASSERT_TRUE(lz4_frame_decompress(zero_frame(1024), out).ok());
  EXPECT_EQ(out.size(), kMaxLz4InflatedBytes);
  EXPECT_EQ(inflate_code(zero_frame(1025)), Errc::corrupt);
}

// A frame of `data` written by liblz4 with the given block size, stored blocks allowed.
std::vector<std::byte> frame_with(std::span<const std::byte> data, LZ4F_blockSizeID_t block_size,
                                  bool block_checksums, bool content_size) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = block_size;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.blockChecksumFlag =
      block_checksums ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum;
  prefs.frameInfo.contentSize = content_size ? data.size() : 0;
  std::vector<std::byte> frame(LZ4F_compressFrameBound(data.size(), &prefs));
  const size_t n = LZ4F_compressFrame(frame.data(), frame.size(), data.data(), data.size(), &prefs);
  EXPECT_FALSE(LZ4F_isError(n));
  frame.resize(n);
  return frame;
}

// The output is sized from the block headers; frames mixing compressed and stored (random)
// blocks, each block size, with block checksums and a content size, decode exactly into both
// output types, one Buffer reused across frames of falling and rising sizes.
TEST(Lz4Frame, EveryBlockLayoutDecodesIntoAReusedBuffer) {
  std::vector<std::byte> data = random_bytes(300000, 21);    // stored blocks
  const std::vector<std::byte> zeros(500000, std::byte{0});  // compressed blocks
  data.insert(data.end(), zeros.begin(), zeros.end());
  Buffer reused;
  for (size_t size : {data.size(), size_t{70000}, size_t{1}, size_t{65536}, data.size()}) {
    const std::span<const std::byte> in(data.data(), size);
    for (auto block : {LZ4F_max64KB, LZ4F_max256KB, LZ4F_max1MB, LZ4F_max4MB}) {
      for (bool checksums : {false, true}) {
        const auto frame = frame_with(in, block, checksums, checksums);
        ASSERT_TRUE(lz4_frame_decompress(frame, reused).ok()) << size << " " << block;
        ASSERT_EQ(reused.size(), size);
        EXPECT_TRUE(std::equal(reused.begin(), reused.end(), in.begin())) << size << " " << block;
        std::vector<std::byte> out;
        ASSERT_TRUE(lz4_frame_decompress(frame, out).ok());
        EXPECT_TRUE(std::equal(out.begin(), out.end(), in.begin(), in.end()));
        // The exact bound holds whatever the block size: one byte less is refused.
        EXPECT_EQ(inflate_code(frame, size - 1), Errc::corrupt) << size << " " << block;
      }
    }
  }
}

// The thread's decompression context is reused: a frame abandoned half way (damaged, truncated,
// or past the bound) leaves nothing behind for the next frame on the thread.
TEST(Lz4Frame, AFailedFrameDoesNotAffectTheNextOne) {
  const auto data = random_bytes(200000, 8);
  const auto frame = lz4_frame_compress(data).value();
  auto damaged = frame;
  damaged[frame.size() / 2] ^= std::byte{0xFF};
  const std::vector<std::vector<std::byte>> failures = {
      std::vector<std::byte>(frame.begin(), frame.begin() + 7),
      std::vector<std::byte>(frame.begin(), frame.begin() + static_cast<long>(frame.size() / 2)),
      damaged,
  };
  Buffer out;
  for (const auto& bad : failures) {
    (void)lz4_frame_decompress(bad, out);
    ASSERT_TRUE(lz4_frame_decompress(frame, out).ok());
    EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin(), data.end()));
  }
  EXPECT_EQ(inflate_code(frame, 1000), Errc::corrupt);
  ASSERT_TRUE(lz4_frame_decompress(frame, out).ok());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin(), data.end()));
}

// Block headers that claim more than the frame holds or more than the block size: the decoder,
// not the sizing, refuses them.
void store_le32(std::byte* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFu);
}

TEST(Lz4Frame, LyingBlockHeadersAreCorrupt) {
  const auto data = random_bytes(1000, 4);
  const auto frame = lz4_frame_compress(data).value();
  auto too_long = frame;
  store_le32(too_long.data() + 7, 0x7FFFFFF0u);  // first block's size
  EXPECT_EQ(inflate_code(too_long), Errc::corrupt);
  auto past_block_max = frame;
  store_le32(past_block_max.data() + 7, (64u << 10) + 1);
  EXPECT_EQ(inflate_code(past_block_max), Errc::corrupt);
}

TEST(Lz4Batch, DecodeRefusesABatchInflatingPastTheBound) {
  auto b = test::make_batch(1);
  b.resize(bl::kHeaderSize);
  const auto frame = zero_frame(1025);
  b.insert(b.end(), frame.begin(), frame.end());
  store_be16(b.data() + bl::kAttributes, static_cast<uint16_t>(Compression::lz4));
  refresh_length_and_crc(b);
  ASSERT_TRUE(validate_batch(b).ok());
  std::vector<std::byte> scratch;
  auto r = decode_records(BatchView(b), scratch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::corrupt);
}

TEST(Lz4Batch, RecompressKeepsHeaderAndRecords) {
  const std::string v(500, 'z');
  const auto in = repetitive_records(v, 40);
  BuildOptions o;
  o.base_offset = Offset(1000);
  o.producer_id = ProducerId(99);
  o.producer_epoch = 4;
  o.base_sequence = 17;
  o.leader_epoch = LeaderEpoch(6);
  const auto plain = build_batch(in, o).value();
  auto lz = recompress_lz4(BatchView(plain));
  ASSERT_TRUE(lz.ok()) << lz.error().to_string();
  ASSERT_TRUE(validate_batch(*lz).ok());
  EXPECT_LT(lz->size(), plain.size() / 10);  // repetitive data shrinks
  BatchView before(plain), after(*lz);
  EXPECT_EQ(after.compression(), Compression::lz4);
  EXPECT_EQ(after.attributes(), before.attributes() | 3);
  EXPECT_EQ(after.batch_length(), static_cast<int32_t>(lz->size() - 12));
  EXPECT_EQ(after.crc(), platform::crc32c_software(0, lz->data() + 21, lz->size() - 21));
  // Every other header byte is unchanged.
  for (size_t i = 0; i < bl::kHeaderSize; ++i) {
    const bool rewritten = (i >= bl::kBatchLength && i < bl::kPartitionLeaderEpoch) ||
                           (i >= bl::kCrc && i < bl::kLastOffsetDelta);
    if (!rewritten) {
      EXPECT_EQ((*lz)[i], plain[i]) << "header byte " << i;
    }
  }
  expect_records_equal(*lz, in);
  // The frame holds exactly the original records section.
  const auto section = plain_lz4f_decode(after.records_bytes(), plain.size());
  EXPECT_TRUE(std::equal(section.begin(), section.end(), before.records_bytes().begin(),
                         before.records_bytes().end()));
}

TEST(Lz4Batch, AThousandRecordsSpanSeveralBlocksAndDecodeWithPlainLz4) {
  std::vector<std::string> values;
  for (int i = 0; i < 1000; ++i)
    values.push_back("value " + std::to_string(i) + std::string(200, '.'));
  std::vector<RecordInput> in;
  for (int i = 0; i < 1000; ++i)
    in.push_back({"k", values[static_cast<size_t>(i)], i, {{"h", "x"}}});
  const auto plain = build_batch(in, {}).value();
  ASSERT_GT(plain.size(), size_t{3} * 65536);
  const auto lz = recompress_lz4(BatchView(plain)).value();
  ASSERT_TRUE(validate_batch(lz).ok());
  const auto section = plain_lz4f_decode(BatchView(lz).records_bytes(), plain.size());
  ASSERT_EQ(section.size(), plain.size() - bl::kHeaderSize);
  EXPECT_TRUE(std::equal(section.begin(), section.end(), plain.begin() + bl::kHeaderSize));
  expect_records_equal(lz, in);
}

TEST(Lz4Batch, BuildWithLz4EqualsRecompressOfTheUncompressedBuild) {
  std::vector<RecordInput> in = {{"a", "b", 1, {{"h", std::nullopt}}}, {std::nullopt, "", 9, {}}};
  BuildOptions o;
  o.log_append_time = true;
  o.producer_id = ProducerId(5);
  const auto plain = build_batch(in, o).value();
  o.compression = Compression::lz4;
  const auto built = build_batch(in, o).value();
  EXPECT_EQ(built, recompress_lz4(BatchView(plain)).value());
}

TEST(Lz4Batch, RecompressKeepsAttributeBits) {
  auto b = test::make_batch(3);
  const uint16_t attrs = batch_attr::kTimestampTypeLogAppend | batch_attr::kTransactional |
                         batch_attr::kControl | batch_attr::kDeleteHorizon;
  store_be16(b.data() + bl::kAttributes, attrs);
  refresh_crc(b);
  const auto lz = recompress_lz4(BatchView(b)).value();
  ASSERT_TRUE(validate_batch(lz).ok());
  EXPECT_EQ(BatchView(lz).attributes(), attrs | 3);
  EXPECT_TRUE(BatchView(lz).is_control());
  EXPECT_TRUE(BatchView(lz).is_transactional());
}

TEST(Lz4Batch, IncompressibleRecordsStayValid) {
  const auto noise = random_bytes(20000, 21);
  const std::string value(reinterpret_cast<const char*>(noise.data()), noise.size());
  std::vector<RecordInput> in = {{"k", value, 1, {}}};
  const auto plain = build_batch(in, {}).value();
  const auto lz = recompress_lz4(BatchView(plain)).value();
  ASSERT_TRUE(validate_batch(lz).ok());
  EXPECT_GE(lz.size(), plain.size());  // the caller keeps the original in this case
  expect_records_equal(lz, in);
}

TEST(Lz4Batch, RecompressRejectsCompressedAndIncompleteInput) {
  BuildOptions o;
  o.compression = Compression::lz4;
  const auto lz = build_batch(repetitive_records("v", 3), o).value();
  EXPECT_EQ(code_of(recompress_lz4(BatchView(lz))), Errc::invalid_argument);
  const auto plain = test::make_batch(3);
  EXPECT_EQ(code_of(recompress_lz4(BatchView(std::span(plain).first(plain.size() - 1)))),
            Errc::corrupt);
  EXPECT_EQ(code_of(recompress_lz4(BatchView(std::span(plain).first(20)))), Errc::corrupt);
  EXPECT_EQ(code_of(recompress_lz4(BatchView())), Errc::corrupt);
}

TEST(Lz4Batch, DamagedFramesNeverCrashDecode) {
  BuildOptions o;
  o.compression = Compression::lz4;
  std::vector<RecordInput> in(5, RecordInput{"k", "value value value", 1, {}});
  const auto b = build_batch(in, o).value();
  ASSERT_TRUE(validate_batch(b).ok());
  for (size_t i = bl::kHeaderSize; i < b.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto copy = b;
      copy[i] ^= static_cast<std::byte>(1 << bit);
      refresh_crc(copy);
      std::vector<std::byte> scratch;
      auto r = decode_records(BatchView(copy), scratch);
      // Either rejected as corrupt, or (a flipped literal) still five well-formed records.
      if (r.ok()) {
        EXPECT_EQ(r->size(), 5u);
      } else {
        EXPECT_EQ(r.error().code(), Errc::corrupt);
      }
      if (i < bl::kHeaderSize + 4) {
        EXPECT_FALSE(r.ok()) << "frame magic byte " << i;
      }
    }
  }
}

}  // namespace
}  // namespace ferry::protocol
