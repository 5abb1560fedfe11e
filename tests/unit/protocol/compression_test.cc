// Unit tests of the compression codecs (compression.h): round trips of every codec, a gzip
// stream from another implementation, hand-assembled raw and xerial snappy, the legacy LZ4
// header checksum, corrupt, truncated and oversized inputs, CRC-32, and record batches
// compressed with gzip and snappy decoded by decode_records.
#include "protocol/compression.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "batch_test_util.h"
#include "protocol/record_batch.h"
#include "support/test_support.h"

namespace ferry::protocol {
namespace {

namespace bl = batch_layout;
using testing::code_of;
using testing::expect_records_equal;
using testing::refresh_length_and_crc;

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return std::vector<std::byte>(p, p + s.size());
}
std::vector<std::byte> hex_bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}
void append(std::vector<std::byte>& out, std::span<const std::byte> more) {
  out.insert(out.end(), more.begin(), more.end());
}
void append_be32(std::vector<std::byte>& out, uint32_t v) {
  std::byte b[4];
  store_be32(b, v);
  out.insert(out.end(), b, b + 4);
}
std::string text(std::span<const std::byte> b) { return testing::str(b); }

std::vector<std::byte> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> out(n);
  for (auto& b : out) b = static_cast<std::byte>(rng());
  return out;
}

// Text with repeats at short and long distances, so the compressors find matches.
std::vector<std::byte> compressible(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) {
    s += "record-" + std::to_string(i % 97) + (i % 5 == 0 ? std::string(40, 'z') : "") + ";";
  }
  s.resize(n);
  return bytes_of(s);
}

std::vector<std::byte> must_compress(Compression c, std::span<const std::byte> in) {
  auto r = compress(c, in);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? std::move(r).value() : std::vector<std::byte>{};
}

constexpr size_t kBig = size_t{1} << 26;

TEST(Crc32Ieee, CheckValue) {
  EXPECT_EQ(crc32_ieee(bytes_of("123456789")), 0xCBF43926u);
  EXPECT_EQ(crc32_ieee({}), 0u);
}

TEST(Compression, RoundTripOfEveryCodec) {
  for (Compression c : {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4,
                        Compression::zstd}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{100}, size_t{65536}, size_t{70001},
                     size_t{300000}}) {
      for (bool random : {false, true}) {
        SCOPED_TRACE(std::string(compression_name(c)) + " " + std::to_string(n) +
                     (random ? " random" : " text"));
        const auto data = random ? random_bytes(n, static_cast<uint32_t>(n)) : compressible(n);
        const auto packed = must_compress(c, data);
        if (!random && n >= 65536 && c != Compression::none) {
          EXPECT_LT(packed.size(), n / 2);
        }
        auto back = decompress(c, packed, kBig);
        ASSERT_TRUE(back.ok()) << back.error().to_string();
        EXPECT_EQ(*back, data);
        // Exactly the output size is within the bound; one byte less is not.
        EXPECT_TRUE(decompress(c, packed, n).ok());
        if (n > 0) {
          EXPECT_EQ(code_of(decompress(c, packed, n - 1)), Errc::too_large);
        }
      }
    }
  }
}

TEST(Compression, LongRunsAndRepeatsRoundTrip) {
  std::vector<std::byte> data(200000, std::byte{'a'});
  for (size_t i = 0; i < data.size(); i += 1000) data[i] = std::byte{'b'};
  for (Compression c : {Compression::gzip, Compression::snappy, Compression::lz4}) {
    const auto packed = must_compress(c, data);
    EXPECT_LT(packed.size(), data.size() / 10) << compression_name(c);
    auto back = decompress(c, packed, kBig);
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    EXPECT_EQ(*back, data) << compression_name(c);
  }
}

TEST(Compression, MalformedZstdAndUnknownCodecs) {
  const auto data = bytes_of("abc");
  EXPECT_EQ(code_of(decompress(Compression::zstd, data, kBig)), Errc::corrupt);
  auto packed = must_compress(Compression::zstd, compressible(5000));
  for (size_t cut = 0; cut < packed.size(); cut += 7) {
    auto part =
        std::vector<std::byte>(packed.begin(), packed.begin() + static_cast<ptrdiff_t>(cut));
    EXPECT_FALSE(decompress(Compression::zstd, part, kBig).ok()) << cut;
  }
  // Two frames back to back decode as their concatenation.
  auto twice = packed;
  twice.insert(twice.end(), packed.begin(), packed.end());
  auto back = decompress(Compression::zstd, twice, kBig);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->size(), 10000u);
  EXPECT_EQ(code_of(decompress(static_cast<Compression>(6), data, kBig)), Errc::unsupported);
}

TEST(Compression, NoneIsACopyWithinTheBound) {
  const auto data = bytes_of("abcdef");
  auto r = decompress(Compression::none, data, 6);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, data);
  EXPECT_EQ(code_of(decompress(Compression::none, data, 5)), Errc::too_large);
}

// --- gzip -----------------------------------------------------------------------------------

// gzip.compress(b"hello kafka", mtime=0) from Python's zlib binding.
const std::vector<std::byte> kHelloGzip = hex_bytes(
    {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57,
     0xc8, 0x4e, 0x4c, 0xcb, 0x4e, 0x04, 0x00, 0xd1, 0x75, 0x81, 0x6c, 0x0b, 0x00, 0x00, 0x00});

TEST(Gzip, DecodesAStreamFromAnotherImplementation) {
  auto r = decompress(Compression::gzip, kHelloGzip, 1024);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(text(*r), "hello kafka");
}

TEST(Gzip, ConcatenatedMembersAreOneStream) {
  auto two = kHelloGzip;
  append(two, must_compress(Compression::gzip, bytes_of(", again")));
  auto r = decompress(Compression::gzip, two, 1024);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(text(*r), "hello kafka, again");
  // The bound covers all members together.
  EXPECT_EQ(code_of(decompress(Compression::gzip, two, 17)), Errc::too_large);
}

TEST(Gzip, EveryTruncationIsCorrupt) {
  const auto packed = must_compress(Compression::gzip, compressible(5000));
  for (size_t n = 0; n < packed.size(); ++n) {
    EXPECT_EQ(code_of(decompress(Compression::gzip, std::span(packed).first(n), kBig)),
              Errc::corrupt)
        << n;
  }
}

TEST(Gzip, DamageAndTrailingBytesAreCorrupt) {
  auto bad_crc = kHelloGzip;
  bad_crc[bad_crc.size() - 6] ^= std::byte{1};  // trailer CRC-32
  EXPECT_EQ(code_of(decompress(Compression::gzip, bad_crc, 1024)), Errc::corrupt);
  auto bad_size = kHelloGzip;
  bad_size[bad_size.size() - 4] ^= std::byte{1};  // trailer ISIZE
  EXPECT_EQ(code_of(decompress(Compression::gzip, bad_size, 1024)), Errc::corrupt);
  auto bad_magic = kHelloGzip;
  bad_magic[0] = std::byte{0};
  EXPECT_EQ(code_of(decompress(Compression::gzip, bad_magic, 1024)), Errc::corrupt);
  auto trailing = kHelloGzip;
  append(trailing, hex_bytes({'j', 'u', 'n', 'k'}));
  EXPECT_EQ(code_of(decompress(Compression::gzip, trailing, 1024)), Errc::corrupt);
  EXPECT_EQ(code_of(decompress(Compression::gzip, {}, 1024)), Errc::corrupt);
}

TEST(Gzip, ABombStopsAtTheBound) {
  const std::vector<std::byte> zeros(size_t{8} << 20, std::byte{0});
  const auto packed = must_compress(Compression::gzip, zeros);
  EXPECT_LT(packed.size(), size_t{16} << 10);
  EXPECT_EQ(code_of(decompress(Compression::gzip, packed, size_t{1} << 20)), Errc::too_large);
}

// --- snappy ---------------------------------------------------------------------------------

// A raw block using every element kind: literals with the length in the tag and in 1, 2, 3 and
// 4 extra bytes; copies with 1-, 2- and 4-byte offsets; overlapping copies (runs); and a 1-byte
// offset copy using the offset's high bits.
std::vector<std::byte> hand_made_raw_block() {
  std::vector<std::byte> b = hex_bytes({0x8D, 0x03});  // uncompressed length 397
  append(b, hex_bytes({0x0C, 'a', 'b', 'c', 'd'}));    // literal, 4 bytes in the tag
  append(b, hex_bytes({0x09, 0x04}));                  // copy1: len 6, offset 4 (overlaps)
  append(b, hex_bytes({0x0A, 0x0A, 0x00}));            // copy2: len 3, offset 10
  append(b, hex_bytes({0xF0, 60}));                    // literal, length-1 in 1 byte: 61
  append(b, std::vector<std::byte>(61, std::byte{'x'}));
  append(b, hex_bytes({0x13, 70, 0, 0, 0}));  // copy4: len 5, offset 70
  append(b, hex_bytes({0xF4, 0x2B, 0x01}));   // literal, length-1 in 2 bytes: 300
  append(b, std::vector<std::byte>(300, std::byte{'y'}));
  append(b, hex_bytes({0x1D, 0x01}));                    // copy1: len 11, offset 1 (a run)
  append(b, hex_bytes({0x21, 0x7B}));                    // copy1: len 4, offset 0x17B = 379
  append(b, hex_bytes({0xF8, 0x01, 0x00, 0x00}));        // literal, length-1 in 3 bytes: 2
  append(b, hex_bytes({'z', 'z'}));                      //
  append(b, hex_bytes({0xFC, 0x00, 0x00, 0x00, 0x00}));  // literal, length-1 in 4 bytes: 1
  append(b, hex_bytes({'q'}));
  return b;
}
const std::string kHandMadeText = "abcd" + std::string("abcdab") + "abc" + std::string(61, 'x') +
                                  "abcda" + std::string(300, 'y') + std::string(11, 'y') + "bcxx" +
                                  "zz" + "q";

TEST(Snappy, DecodesAHandMadeRawBlock) {
  ASSERT_EQ(kHandMadeText.size(), 397u);
  auto r = decompress(Compression::snappy, hand_made_raw_block(), 1024);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(text(*r), kHandMadeText);
  EXPECT_EQ(code_of(decompress(Compression::snappy, hand_made_raw_block(), 396)), Errc::too_large);
}

std::vector<std::byte> xerial(std::initializer_list<std::vector<std::byte>> chunks) {
  std::vector<std::byte> f(std::begin(kXerialMagic), std::end(kXerialMagic));
  append_be32(f, 1);  // version
  append_be32(f, 1);  // minimum compatible version
  for (const auto& c : chunks) {
    append_be32(f, static_cast<uint32_t>(c.size()));
    append(f, c);
  }
  return f;
}

TEST(Snappy, DecodesAHandMadeXerialFrame) {
  const auto chunk1 = hex_bytes({0x06, 0x14, 'h', 'e', 'l', 'l', 'o', ' '});
  const auto chunk2 = hex_bytes({0x0A, 0x04, 'a', 'b', 0x1E, 0x02, 0x00});  // "ab" x 5
  auto r = decompress(Compression::snappy, xerial({chunk1, chunk2}), 1024);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(text(*r), "hello ababababab");
  // The bound covers all chunks together.
  EXPECT_EQ(code_of(decompress(Compression::snappy, xerial({chunk1, chunk2}), 15)),
            Errc::too_large);
  // A header without chunks is an empty stream.
  auto empty = decompress(Compression::snappy, xerial({}), 1024);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  // Our own compressor's blocks framed as xerial chunks.
  const auto data = compressible(100000);
  auto framed = xerial({must_compress(Compression::snappy, std::span(data).first(60000)),
                        must_compress(Compression::snappy, std::span(data).subspan(60000))});
  auto back = decompress(Compression::snappy, framed, kBig);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, data);
}

TEST(Snappy, XerialFramingErrors) {
  const auto chunk = hex_bytes({0x06, 0x14, 'h', 'e', 'l', 'l', 'o', ' '});
  const auto good = xerial({chunk});
  // Truncated anywhere after the magic: header, chunk length or chunk.
  for (size_t n = sizeof(kXerialMagic); n < good.size(); ++n) {
    if (n == kXerialHeaderSize) continue;  // a header alone is a valid empty stream
    EXPECT_EQ(code_of(decompress(Compression::snappy, std::span(good).first(n), 1024)),
              Errc::corrupt)
        << n;
  }
  auto negative = good;
  store_i32(negative.data() + kXerialHeaderSize, -1);
  EXPECT_EQ(code_of(decompress(Compression::snappy, negative, 1024)), Errc::corrupt);
  // A chunk cannot copy from the previous chunk's output.
  const auto cross = hex_bytes({0x04, 0x0A, 0x03, 0x00});  // copy2: len 3, offset 3
  EXPECT_EQ(code_of(decompress(Compression::snappy, xerial({chunk, cross}), 1024)), Errc::corrupt);
  EXPECT_EQ(code_of(decompress(Compression::snappy, xerial({chunk, {}}), 1024)), Errc::corrupt);
}

// The chunks' declared lengths are summed and checked against the bound before any chunk is
// decoded: a stream over the bound is too_large even when an earlier chunk is malformed, and
// the output is allocated once.
TEST(Snappy, AXerialStreamOverTheBoundIsRefusedBeforeDecoding) {
  const auto malformed = hex_bytes({0x05, 0x09, 0x01});  // declares 5, copies before any output
  const auto large = hex_bytes({0xFF, 0xFF, 0x03, 0x00, 'a'});  // declares 65535
  EXPECT_EQ(code_of(decompress(Compression::snappy, xerial({malformed, large}), 1024)),
            Errc::too_large);
  EXPECT_EQ(code_of(decompress(Compression::snappy, xerial({malformed}), 1024)), Errc::corrupt);
  // Blocks of snappy-java's 32 KiB chunk size, 1 MiB in all.
  const auto data = compressible(size_t{1} << 20);
  std::vector<std::byte> framed(std::begin(kXerialMagic), std::end(kXerialMagic));
  append_be32(framed, 1);
  append_be32(framed, 1);
  for (size_t pos = 0; pos < data.size(); pos += 32768) {
    const auto block = must_compress(Compression::snappy, std::span(data).subspan(pos, 32768));
    append_be32(framed, static_cast<uint32_t>(block.size()));
    append(framed, block);
  }
  auto back = decompress(Compression::snappy, framed, data.size());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, data);
  EXPECT_EQ(code_of(decompress(Compression::snappy, framed, data.size() - 1)), Errc::too_large);
}

TEST(Snappy, MalformedRawBlocksAreCorrupt) {
  struct Case {
    const char* what;
    std::vector<std::byte> block;
  };
  const std::vector<Case> cases = {
      {"empty input", {}},
      {"truncated length varint", hex_bytes({0x80})},
      {"length varint over 32 bits", hex_bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x7F})},
      {"copy before any output", hex_bytes({0x04, 0x09, 0x01})},
      {"copy offset 0", hex_bytes({0x05, 0x00, 'a', 0x01, 0x00})},
      {"copy offset past the output", hex_bytes({0x06, 0x04, 'a', 'b', 0x01, 0x03})},
      {"copy2 offset past the output", hex_bytes({0x06, 0x04, 'a', 'b', 0x0E, 0x03, 0x00})},
      {"copy4 offset past the output",
       hex_bytes({0x06, 0x04, 'a', 'b', 0x0F, 0x00, 0x00, 0x00, 0x01})},
      {"literal past the input", hex_bytes({0x04, 0x0C, 'a', 'b'})},
      {"truncated literal length", hex_bytes({0x04, 0xF4, 0x01})},
      {"truncated copy1", hex_bytes({0x05, 0x00, 'a', 0x01})},
      {"truncated copy2", hex_bytes({0x05, 0x00, 'a', 0x02, 0x01})},
      {"truncated copy4", hex_bytes({0x05, 0x00, 'a', 0x03, 0x01, 0x00, 0x00})},
      {"output longer than declared (literal)", hex_bytes({0x01, 0x04, 'a', 'b'})},
      {"output longer than declared (copy)", hex_bytes({0x03, 0x00, 'a', 0x05, 0x01})},
      {"output shorter than declared", hex_bytes({0x03, 0x04, 'a', 'b'})},
      {"length impossible for the input", hex_bytes({0xFF, 0xFF, 0x03, 0x00, 'a'})},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(code_of(decompress(Compression::snappy, c.block, kBig)), Errc::corrupt) << c.what;
  }
  // A declared length over the bound is refused before anything is allocated.
  EXPECT_EQ(
      code_of(decompress(Compression::snappy, hex_bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}), 1024)),
      Errc::too_large);
}

TEST(Snappy, EveryTruncationOfAValidBlockIsCorrupt) {
  const auto block = hand_made_raw_block();
  for (size_t n = 0; n < block.size(); ++n) {
    EXPECT_EQ(code_of(decompress(Compression::snappy, std::span(block).first(n), kBig)),
              Errc::corrupt)
        << n;
  }
}

// --- lz4 ------------------------------------------------------------------------------------

TEST(Lz4, LegacyFramingIgnoresTheHeaderChecksum) {
  const auto data = compressible(3000);
  const auto frame = must_compress(Compression::lz4, data);
  // Kafka's LZ4 frame: magic, FLG, BD, HC (no content size), so HC is byte 6.
  ASSERT_GT(frame.size(), 7u);
  // The legacy fix-up recomputes a correct checksum to the same value.
  auto legacy_ok = decompress(Compression::lz4, frame, kBig, true);
  ASSERT_TRUE(legacy_ok.ok()) << legacy_ok.error().to_string();
  EXPECT_EQ(*legacy_ok, data);
  // A wrong checksum (as magic-0 writers computed it) passes only with legacy framing.
  auto broken = frame;
  broken[6] ^= std::byte{0x5A};
  EXPECT_EQ(code_of(decompress(Compression::lz4, broken, kBig)), Errc::corrupt);
  auto legacy = decompress(Compression::lz4, broken, kBig, true);
  ASSERT_TRUE(legacy.ok()) << legacy.error().to_string();
  EXPECT_EQ(*legacy, data);
  // Other damage is still caught.
  auto bad_magic = broken;
  bad_magic[0] ^= std::byte{1};
  EXPECT_EQ(code_of(decompress(Compression::lz4, bad_magic, kBig, true)), Errc::corrupt);
}

TEST(Lz4, TruncationAndTrailingBytesAreCorrupt) {
  const auto frame = must_compress(Compression::lz4, compressible(5000));
  for (size_t n = 0; n < frame.size(); ++n) {
    for (bool legacy : {false, true}) {
      EXPECT_EQ(code_of(decompress(Compression::lz4, std::span(frame).first(n), kBig, legacy)),
                Errc::corrupt)
          << n;
    }
  }
  auto trailing = frame;
  trailing.push_back(std::byte{0});
  EXPECT_EQ(code_of(decompress(Compression::lz4, trailing, kBig)), Errc::corrupt);
}

// Random damage of valid streams must fail cleanly or decode, never crash or over-read (the
// sanitizer build checks the latter).
TEST(Compression, RandomDamageNeverCrashes) {
  std::mt19937 rng(1234);
  const auto data = compressible(20000);
  for (Compression c : {Compression::gzip, Compression::snappy, Compression::lz4}) {
    const auto packed = must_compress(c, data);
    for (int round = 0; round < 300; ++round) {
      auto copy = packed;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) copy[rng() % copy.size()] ^= std::byte{1} << (rng() % 8);
      auto r = decompress(c, copy, 30000, round % 2 == 0);
      if (r.ok()) {
        EXPECT_LE(r->size(), 30000u);
      }
    }
    for (int round = 0; round < 100; ++round) {
      const auto junk = random_bytes(rng() % 200, static_cast<uint32_t>(rng()));
      auto r = decompress(c, junk, 30000);
      if (r.ok()) {
        EXPECT_LE(r->size(), 30000u);
      }
    }
  }
}

// --- record batches -------------------------------------------------------------------------

// `plain` (an uncompressed batch) with its records section compressed by `packed_records`.
std::vector<std::byte> with_records(const std::vector<std::byte>& plain, Compression c,
                                    std::span<const std::byte> packed_records) {
  std::vector<std::byte> b(plain.begin(), plain.begin() + bl::kHeaderSize);
  append(b, packed_records);
  store_be16(b.data() + bl::kAttributes, static_cast<uint16_t>(c));
  refresh_length_and_crc(b);
  return b;
}

TEST(CompressedBatch, GzipAndSnappyBatchesDecode) {
  // RecordInput holds views: the values live in `values`.
  std::vector<std::string> values;
  for (int i = 0; i < 50; ++i) values.push_back("value value value value " + std::string(i, 'v'));
  std::vector<RecordInput> in;
  for (int i = 0; i < 50; ++i) {
    in.push_back(RecordInput{"key", values[static_cast<size_t>(i)], 1000 + i, {{"h", "x"}}});
  }
  auto plain = build_batch(in, {});
  ASSERT_TRUE(plain.ok());
  const auto records = BatchView(*plain).records_bytes();
  const auto chunk1 = must_compress(Compression::snappy, records.first(100));
  const auto chunk2 = must_compress(Compression::snappy, records.subspan(100));
  for (const auto& [codec, packed] : std::vector<std::pair<Compression, std::vector<std::byte>>>{
           {Compression::gzip, must_compress(Compression::gzip, records)},
           {Compression::snappy, must_compress(Compression::snappy, records)},
           {Compression::snappy, xerial({chunk1, chunk2})},
           {Compression::zstd, must_compress(Compression::zstd, records)}}) {
    SCOPED_TRACE(std::string(compression_name(codec)));
    const auto b = with_records(*plain, codec, packed);
    ASSERT_TRUE(validate_batch(b).ok());
    expect_records_equal(b, in);
  }
}

TEST(CompressedBatch, DamagedBatchesDoNotDecode) {
  const auto plain = test::make_batch(3);
  const auto records = BatchView(plain).records_bytes();
  std::vector<std::byte> scratch;
  const auto not_zstd = with_records(plain, Compression::zstd, records);
  EXPECT_EQ(code_of(decode_records(BatchView(not_zstd), scratch)), Errc::corrupt);
  for (Compression c : {Compression::gzip, Compression::snappy, Compression::zstd}) {
    auto packed = must_compress(c, records);
    packed.pop_back();
    const auto b = with_records(plain, c, packed);
    EXPECT_EQ(code_of(decode_records(BatchView(b), scratch)), Errc::corrupt) << compression_name(c);
  }
}

}  // namespace
}  // namespace ferry::protocol
