// LZ4 frame encoding of a records section (Kafka codec 3 for magic-2 batches).
//
// Magic-2 batches carry a standard LZ4 frame (magic 0x184D2204). ferry writes it like Kafka's
// Java producer: 64 KB blocks, independent blocks, no block or content checksum, no content
// size. Decoding accepts any valid frame options and refuses to inflate past a caller-given
// bound, so a hostile frame cannot make the broker allocate without limit.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "common/buffer.h"
#include "common/result.h"

namespace ferry::protocol {

// The default bound on a decompressed records section.
inline constexpr size_t kMaxLz4InflatedBytes = size_t{64} << 20;

// Compresses `in` into one LZ4 frame. Errors: too_large for input over 2 GiB - 1,
// invalid_argument if liblz4 refuses.
Result<std::vector<std::byte>> lz4_frame_compress(std::span<const std::byte> in);

// Decompresses exactly one complete LZ4 frame spanning all of `in` into `out` (replacing its
// contents). Errors are Errc::corrupt: a malformed or truncated frame, bytes after the frame, or
// more than `max_output` bytes of output.
// The output is sized once from the frame's block headers (at most max_output + 1 bytes), and
// each thread keeps one decompression context for frames of blocks up to 256 KiB. The Buffer
// form does not zero the output first: a caller that keeps one Buffer across frames decodes
// without allocating once its capacity suffices. Any thread.
Status lz4_frame_decompress(std::span<const std::byte> in, std::vector<std::byte>& out,
                            size_t max_output = kMaxLz4InflatedBytes);
Status lz4_frame_decompress(std::span<const std::byte> in, Buffer& out,
                            size_t max_output = kMaxLz4InflatedBytes);

}  // namespace ferry::protocol
