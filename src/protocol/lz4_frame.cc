// LZ4 frame compression and bounded decompression through liblz4's frame API (lz4frame.h).
#include "protocol/lz4_frame.h"

#include <lz4frame.h>

#include <algorithm>
#include <cstdint>
#include <memory>
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
bool grow(std::vector<std::byte>& out, size_t max_output) {
  const size_t cap = max_output == SIZE_MAX ? SIZE_MAX : max_output + 1;
  if (out.size() >= cap) return false;
  const size_t step = std::max(out.size(), kInitialOutput);
  out.resize(cap - out.size() < step ? cap : out.size() + step);
  return true;
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
  out.clear();
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return Error(Errc::io, "lz4 frame: cannot create a decompression context");
  }
  DctxPtr ctx(raw);
  size_t produced = 0;
  while (true) {
    if (produced == out.size() && !grow(out, max_output)) {
      return corrupt("inflates past " + std::to_string(max_output) + " bytes");
    }
    size_t dst = out.size() - produced;
    size_t src = in.size();
    const size_t hint =
        LZ4F_decompress(ctx.get(), out.data() + produced, &dst, in.data(), &src, nullptr);
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

}  // namespace ferry::protocol
