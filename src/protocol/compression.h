// Kafka compression codecs: bounded decompression of gzip, snappy and LZ4, compression for the
// codecs ferry writes, and the CRC-32 (IEEE) of legacy messages.
//
// Framing of each codec as Kafka clients write it (codec ids as in batch attributes):
//   1 gzip    a standard gzip stream (RFC 1952); several concatenated members are one stream.
//   2 snappy  either a raw snappy block (librdkafka, sarama, kafka-go) or the xerial framing of
//             snappy-java (Java client, kafka-python):
//               off  size  field
//                 0     8  magic 82 53 4E 41 50 50 59 00 ("\x82SNAPPY\0")
//                 8     4  version (int32 BE, 1)
//                12     4  minimum compatible version (int32 BE, 1)
//                16     -  chunks: [int32 BE length][raw snappy block of that length]...
//             Readers tell the two apart by the magic. Raw blocks are decoded and written by
//             Google's libsnappy; the xerial framing is read here.
//             A raw snappy block is a varint (base-128, least significant group first) holding
//             the uncompressed length, then elements whose tag byte's low two bits select:
//               00 literal: length-1 in the upper six bits when < 60; 60..63 mean the length-1
//                  follows in 1..4 little-endian bytes; then the literal bytes.
//               01 copy: length 4 + bits 2-4, offset = bits 5-7 << 8 | next byte (11 bits).
//               10 copy: length 1 + upper six bits, offset = next 2 bytes little-endian.
//               11 copy: length 1 + upper six bits, offset = next 4 bytes little-endian.
//             A copy's offset counts back from the current output position (>= 1, within the
//             block's output so far); source and destination may overlap.
//   3 lz4     an LZ4 frame (protocol/lz4_frame.h). Legacy magic-0 messages carry the header
//             checksum that Kafka 0.8-0.9 computed over the magic bytes too (KAFKA-3160): with
//             `legacy_lz4_framing` that byte is ignored (recomputed before decoding).
//   4 zstd    one or more zstd frames (libzstd). Magic-2 batches are stored and served as they
//             came; the broker decompresses only to look inside (timestamps, down-conversion).
//
// Every decoder treats its input as hostile: it never reads outside `in`, never writes more than
// `max_out` bytes of output and allocates at most about max_out + 64 KiB while doing so.
// Functions are pure and may run on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "protocol/lz4_frame.h"
#include "protocol/record_batch.h"

namespace ferry::protocol {

// The default bound on one decompressed records section or legacy wrapper value.
inline constexpr size_t kMaxInflatedBytes = kMaxLz4InflatedBytes;

// Decompresses `in`, compressed with `codec`, into a new buffer of at most `max_out` bytes.
// Errors: too_large when the output would exceed max_out; corrupt for malformed or truncated
// input or bytes after the end of the stream; unsupported for an unknown codec.
// Compression::none returns a copy (too_large above max_out).
Result<std::vector<std::byte>> decompress(Compression codec, std::span<const std::byte> in,
                                          size_t max_out, bool legacy_lz4_framing = false);

// Compresses `in` with `codec`: gzip (default level), snappy (one raw block, libsnappy), lz4
// (Kafka's LZ4 frame with a correct header checksum), zstd (level 3), none (a copy). Errors:
// too_large for input over 2 GiB - 1.
Result<std::vector<std::byte>> compress(Compression codec, std::span<const std::byte> in);

// CRC-32 with the IEEE (zlib) polynomial, as legacy messages use; crc32_ieee("123456789") is
// 0xCBF43926.
uint32_t crc32_ieee(std::span<const std::byte> in) noexcept;

// The xerial framing's 8-byte magic.
inline constexpr std::byte kXerialMagic[8] = {std::byte{0x82}, std::byte{'S'}, std::byte{'N'},
                                              std::byte{'A'},  std::byte{'P'}, std::byte{'P'},
                                              std::byte{'Y'},  std::byte{0}};
inline constexpr size_t kXerialHeaderSize = 16;

}  // namespace ferry::protocol
