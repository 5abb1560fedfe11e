// LZ4 frame compression and bounded decompression through liblz4's frame API (lz4frame.h).
#include "protocol/lz4_frame.h"

#include <lz4frame.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace ferry::protocol {
namespace {

// The first output allocation; it then doubles up to the caller's bound.
constexpr size_t kInitialOutput = size_t{64} << 10;

Error corrupt(const std::string& what) { return Error(Errc::corrupt, "lz4 frame: " + what); }

struct DctxDeleter {
  void operator()(LZ4F_dctx* d) const noexcept { LZ4F_freeDecompressionContext(d); }
};
using DctxPtr = std::unique_ptr<LZ4F_dctx, DctxDeleter>;

// Grows `out` for more output. Capacity goes up to max_output + 1 so that a frame producing
// exactly max_output bytes can still finish, while one byte more is detected as too much.
template <typename Vec>
bool grow(Vec& out, size_t max_output) {
  const size_t cap = max_output == SIZE_MAX ? SIZE_MAX : max_output + 1;
  if (out.size() >= cap) return false;
  const size_t step = std::max(out.size(), kInitialOutput);
  out.resize(cap - out.size() < step ? cap : out.size() + step);
  return true;
}

// An upper bound on the output of the LZ4 frame `in`, read from its block headers without
// decoding: each compressed block yields at most the frame's block size, each stored block its
// own size. nullopt when `in` is not a plain frame whose headers read cleanly (the decoder then
// grows its output as it goes and reports what is wrong).
struct FrameShape {
  size_t output_bound = 0;
  size_t block_max = 0;
};
std::optional<FrameShape> frame_shape(std::span<const std::byte> in) {
  auto byte = [&](size_t i) { return static_cast<uint32_t>(in[i]); };
  auto le32 = [&](size_t i) {
    return byte(i) | byte(i + 1) << 8 | byte(i + 2) << 16 | byte(i + 3) << 24;
  };
  if (in.size() < 7 || le32(0) != 0x184D2204u) return std::nullopt;
  const uint32_t flg = byte(4);
  const uint32_t bd = byte(5);
  const uint32_t size_id = (bd >> 4) & 0x7u;
  if ((flg >> 6) != 1u || size_id < 4) return std::nullopt;
  FrameShape shape;
  shape.block_max = size_t{1} << (8 + 2 * size_id);  // 64 KiB, 256 KiB, 1 MiB, 4 MiB
  const bool block_checksum = (flg & 0x10u) != 0;
  size_t pos = 4 + 2 + ((flg & 0x08u) != 0 ? 8 : 0) + ((flg & 0x01u) != 0 ? 4 : 0) + 1;
  while (true) {
    if (in.size() - std::min(pos, in.size()) < 4) return std::nullopt;
    const uint32_t word = le32(pos);
    pos += 4;
    if (word == 0) return shape;  // the end mark
    const size_t size = word & 0x7FFFFFFFu;
    const bool stored = (word & 0x80000000u) != 0;
    if (size > shape.block_max || in.size() - pos < size) return std::nullopt;
    pos += size + (block_checksum ? 4 : 0);
    const size_t yield = stored ? size : shape.block_max;
    if (SIZE_MAX - shape.output_bound < yield) return std::nullopt;
    shape.output_bound += yield;
  }
}

// One decompression context per thread, reused: creating one per frame allocates (and frees)
// its block buffers every time. Contexts for blocks over 256 KiB are not kept (their buffers
// are MiBs).
constexpr size_t kKeptContextBlockMax = size_t{256} << 10;
thread_local DctxPtr t_dctx;

template <typename Vec>
Status decompress_into(std::span<const std::byte> in, Vec& out, size_t max_output) {
  out.clear();
  if (t_dctx == nullptr) {
    LZ4F_dctx* raw = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
      return Error(Errc::io, "lz4 frame: cannot create a decompression context");
    }
    t_dctx.reset(raw);
  } else {
    LZ4F_resetDecompressionContext(t_dctx.get());
  }
  LZ4F_dctx* ctx = t_dctx.get();
  const std::optional<FrameShape> shape = frame_shape(in);
  struct DropLargeContext {
    size_t block_max;
    ~DropLargeContext() {
      if (block_max > kKeptContextBlockMax) t_dctx.reset();
    }
  } drop{shape ? shape->block_max : SIZE_MAX};
  // Sized once from the block headers, the output lets liblz4 decode every block straight into
  // place (with less room than a block it decodes into its own buffer and copies).
  if (shape) {
    const size_t cap = max_output == SIZE_MAX ? SIZE_MAX : max_output + 1;
    out.resize(std::min(shape->output_bound, cap));
  }
  size_t produced = 0;
  while (true) {
    if (produced == out.size() && !grow(out, max_output)) {
      return corrupt("inflates past " + std::to_string(max_output) + " bytes");
    }
    size_t dst = out.size() - produced;
    size_t src = in.size();
    const size_t hint = LZ4F_decompress(ctx, out.data() + produced, &dst, in.data(), &src, nullptr);
    if (LZ4F_isError(hint)) return corrupt(LZ4F_getErrorName(hint));
    produced += dst;
    in = in.subspan(src);
    if (hint == 0) break;  // the frame is complete
    if (dst == 0 && src == 0) return corrupt(in.empty() ? "truncated" : "no progress");
  }
  if (produced > max_output) {
    return corrupt("inflates past " + std::to_string(max_output) + " bytes");
  }
  if (!in.empty()) return corrupt("bytes after the end of the frame");
  out.resize(produced);
  return {};
}

}  // namespace

Result<std::vector<std::byte>> lz4_frame_compress(std::span<const std::byte> in) {
  if (in.size() > static_cast<size_t>(INT32_MAX)) {
    return Error(Errc::too_large, "lz4 frame: input over 2 GiB");
  }
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
  prefs.frameInfo.contentSize = 0;  // not written, like Kafka's Java producer
  std::vector<std::byte> out(LZ4F_compressFrameBound(in.size(), &prefs));
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) {
    return Error(Errc::invalid_argument, std::string("lz4 frame: ") + LZ4F_getErrorName(n));
  }
  out.resize(n);
  return out;
}

Status lz4_frame_decompress(std::span<const std::byte> in, std::vector<std::byte>& out,
                            size_t max_output) {
  return decompress_into(in, out, max_output);
}

Status lz4_frame_decompress(std::span<const std::byte> in, Buffer& out, size_t max_output) {
  return decompress_into(in, out, max_output);
}

}  // namespace ferry::protocol
