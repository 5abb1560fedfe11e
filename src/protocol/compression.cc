// Compression codecs: gzip through zlib, snappy through libsnappy (raw blocks, and the xerial
// framing here), LZ4 through
// lz4_frame.h with the legacy header-checksum fix-up, and zlib's CRC-32.
#include "protocol/compression.h"

#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "protocol/varint.h"

namespace ferry::protocol {
namespace {

// The first output allocation of the streaming decoders; it then doubles up to the bound.
constexpr size_t kInitialOutput = size_t{64} << 10;
// zlib counts in uInt; feed it at most this much at a time.
constexpr size_t kZlibChunk = size_t{1} << 30;

Error corrupt(std::string_view codec, const std::string& what) {
  return Error(Errc::corrupt, std::string(codec) + ": " + what);
}
Error too_large(std::string_view codec, size_t max_out) {
  return Error(Errc::too_large,
               std::string(codec) + ": inflates past " + std::to_string(max_out) + " bytes");
}

// Grows `out` for more output, up to max_out + 1 bytes so that a stream producing exactly
// max_out bytes can finish while one byte more is detected. False when already there.
bool grow(std::vector<std::byte>& out, size_t max_out) {
  const size_t cap = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1;
  if (out.size() >= cap) return false;
  const size_t step = std::max(out.size(), kInitialOutput);
  out.resize(cap - out.size() < step ? cap : out.size() + step);
  return true;
}

uInt zlib_len(size_t n) { return static_cast<uInt>(std::min(n, kZlibChunk)); }

// --- gzip -----------------------------------------------------------------------------------

struct InflateEnd {
  void operator()(z_stream* z) const noexcept { inflateEnd(z); }
};
struct DeflateEnd {
  void operator()(z_stream* z) const noexcept { deflateEnd(z); }
};

// Inflates one or more concatenated gzip members. Anything after a member that is not another
// valid member is corrupt.
Result<std::vector<std::byte>> gzip_decompress(std::span<const std::byte> in, size_t max_out) {
  if (in.empty()) return corrupt("gzip", "empty input");
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return Error(Errc::io, "gzip: cannot initialise zlib");
  }
  std::unique_ptr<z_stream, InflateEnd> guard(&zs);
  std::vector<std::byte> out;
  size_t produced = 0;
  while (true) {
    if (produced == out.size() && !grow(out, max_out)) return too_large("gzip", max_out);
    const uInt in_len = zlib_len(in.size());
    const uInt out_len = zlib_len(out.size() - produced);
    // zlib's next_in is not const-qualified in every version; it never writes through it.
    zs.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
    zs.avail_in = in_len;
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = out_len;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    in = in.subspan(in_len - zs.avail_in);
    produced += out_len - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (in.empty()) break;
      if (inflateReset(&zs) != Z_OK) return corrupt("gzip", "cannot start the next member");
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;  // needs more room
    if (rc == Z_BUF_ERROR) return corrupt("gzip", "truncated stream");
    return corrupt("gzip", zs.msg != nullptr ? zs.msg : "inflate error " + std::to_string(rc));
  }
  if (produced > max_out) return too_large("gzip", max_out);
  out.resize(produced);
  return out;
}

Result<std::vector<std::byte>> gzip_compress(std::span<const std::byte> in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return Error(Errc::io, "gzip: cannot initialise zlib");
  }
  std::unique_ptr<z_stream, DeflateEnd> guard(&zs);
  std::vector<std::byte> out(deflateBound(&zs, static_cast<uLong>(in.size())));
  size_t produced = 0;
  while (true) {
    if (produced == out.size()) out.resize(out.size() + kInitialOutput);
    const uInt in_len = zlib_len(in.size());
    const uInt out_len = zlib_len(out.size() - produced);
    zs.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
    zs.avail_in = in_len;
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = out_len;
    const int rc = deflate(&zs, in_len == in.size() ? Z_FINISH : Z_NO_FLUSH);
    in = in.subspan(in_len - zs.avail_in);
    produced += out_len - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Error(Errc::invalid_argument, "gzip: deflate error " + std::to_string(rc));
    }
  }
  out.resize(produced);
  return out;
}

// --- snappy ---------------------------------------------------------------------------------

// A raw snappy element expands at most 64 output bytes from 3 input bytes, so a block cannot
// declare more than this many output bytes per input byte. Checked before allocating, so a
// small hostile block cannot make us reserve max_out bytes.
constexpr uint64_t kSnappyMaxExpansion = 22;

uint32_t load_le(const std::byte* p, size_t n) noexcept {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}

// Decodes one raw snappy block with libsnappy, appending its output to `out`; `out` as a whole
// stays within max_out bytes. libsnappy checks every element against the block's input and the
// declared output length (copies reach back only into this block's output), and fails unless
// the output is exactly the declared length.
Status snappy_raw_append(std::span<const std::byte> in, std::vector<std::byte>& out,
                         size_t max_out) {
  const char* data = reinterpret_cast<const char*>(in.data());
  size_t n = 0;
  if (!snappy::GetUncompressedLength(data, in.size(), &n)) {
    return corrupt("snappy", "bad uncompressed length");
  }
  if (out.size() > max_out || n > max_out - out.size()) return too_large("snappy", max_out);
  if (static_cast<uint64_t>(n) > kSnappyMaxExpansion * static_cast<uint64_t>(in.size())) {
    return corrupt("snappy", "uncompressed length " + std::to_string(n) +
                                 " impossible for a block of " + std::to_string(in.size()) +
                                 " bytes");
  }
  const size_t start = out.size();
  out.resize(start + n);
  char none = 0;  // an empty block still needs a valid output pointer
  char* dst = n == 0 ? &none : reinterpret_cast<char*>(out.data() + start);
  if (!snappy::RawUncompress(data, in.size(), dst)) {
    return corrupt("snappy", "malformed block");
  }
  return {};
}

bool has_xerial_magic(std::span<const std::byte> in) {
  return in.size() >= sizeof(kXerialMagic) &&
         std::equal(std::begin(kXerialMagic), std::end(kXerialMagic), in.begin());
}

// Calls fn(chunk) for each raw block of a xerial stream (after its header); corrupt on bad
// framing, or the first error fn returns.
template <typename Fn>
Status for_each_xerial_chunk(std::span<const std::byte> in, Fn&& fn) {
  if (in.size() < kXerialHeaderSize) return corrupt("snappy", "truncated xerial header");
  in = in.subspan(kXerialHeaderSize);  // version and compatible version: not checked
  while (!in.empty()) {
    if (in.size() < 4) return corrupt("snappy", "truncated xerial chunk length");
    const int32_t len = load_i32(in.data());
    in = in.subspan(4);
    if (len < 0 || static_cast<size_t>(len) > in.size()) {
      return corrupt("snappy", "xerial chunk length " + std::to_string(len) + " with " +
                                   std::to_string(in.size()) + " bytes left");
    }
    FERRY_TRY(fn(in.first(static_cast<size_t>(len))));
    in = in.subspan(static_cast<size_t>(len));
  }
  return {};
}

// A raw block, or xerial framing around raw blocks (told apart by the magic).
Result<std::vector<std::byte>> snappy_decompress(std::span<const std::byte> in, size_t max_out) {
  std::vector<std::byte> out;
  if (!has_xerial_magic(in)) {
    FERRY_TRY(snappy_raw_append(in, out, max_out));
    return out;
  }
  // First the chunks' declared lengths: the bound is checked before anything is allocated, and
  // the output is allocated once (growing it chunk by chunk costs more than decoding).
  uint64_t total = 0;
  FERRY_TRY(for_each_xerial_chunk(in, [&](std::span<const std::byte> chunk) -> Status {
    size_t n = 0;
    if (!snappy::GetUncompressedLength(reinterpret_cast<const char*>(chunk.data()), chunk.size(),
                                       &n)) {
      return corrupt("snappy", "bad uncompressed length");
    }
    total += n;
    if (total > max_out) return too_large("snappy", max_out);
    return {};
  }));
  out.reserve(static_cast<size_t>(total));
  FERRY_TRY(for_each_xerial_chunk(in, [&](std::span<const std::byte> chunk) {
    return snappy_raw_append(chunk, out, max_out);
  }));
  return out;
}

// One raw block for the whole input, as librdkafka writes it.
std::vector<std::byte> snappy_compress(std::span<const std::byte> in) {
  std::vector<std::byte> out(snappy::MaxCompressedLength(in.size()));
  size_t n = 0;
  snappy::RawCompress(reinterpret_cast<const char*>(in.data()), in.size(),
                      reinterpret_cast<char*>(out.data()), &n);
  out.resize(n);
  return out;
}

// --- lz4 ------------------------------------------------------------------------------------

// xxHash32 (seed 0) of a short input (< 16 bytes: the frame descriptor), as the LZ4 frame
// format uses for its header checksum.
uint32_t xxh32_short(std::span<const std::byte> in) noexcept {
  constexpr uint32_t kP1 = 2654435761u, kP2 = 2246822519u, kP3 = 3266489917u, kP4 = 668265263u,
                     kP5 = 374761393u;
  auto rotl = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  uint32_t h = kP5 + static_cast<uint32_t>(in.size());
  while (in.size() >= 4) {
    h += load_le(in.data(), 4) * kP3;
    h = rotl(h, 17) * kP4;
    in = in.subspan(4);
  }
  for (std::byte b : in) {
    h += static_cast<uint32_t>(b) * kP5;
    h = rotl(h, 11) * kP1;
  }
  h ^= h >> 15;
  h *= kP2;
  h ^= h >> 13;
  h *= kP3;
  h ^= h >> 16;
  return h;
}

// Rewrites the header checksum byte of an LZ4 frame to the correct value, whatever was there
// (KAFKA-3160: magic-0 writers hashed the magic bytes too). Leaves malformed headers alone for
// the decoder to reject.
void fix_lz4_header_checksum(std::vector<std::byte>& frame) {
  constexpr size_t kDescriptor = 4;  // after the 4-byte magic
  if (frame.size() < kDescriptor + 3 || load_le(frame.data(), 4) != 0x184D2204u) return;
  const auto flg = static_cast<uint32_t>(frame[kDescriptor]);
  size_t len = 2;                    // FLG, BD
  if ((flg & 0x08u) != 0) len += 8;  // content size
  if ((flg & 0x01u) != 0) len += 4;  // dictionary id
  if (frame.size() < kDescriptor + len + 1) return;
  const uint32_t h = xxh32_short(std::span<const std::byte>(frame).subspan(kDescriptor, len));
  frame[kDescriptor + len] = static_cast<std::byte>((h >> 8) & 0xFFu);
}

Result<std::vector<std::byte>> lz4_decompress(std::span<const std::byte> in, size_t max_out,
                                              bool legacy_framing) {
  std::vector<std::byte> fixed;
  if (legacy_framing) {
    fixed.assign(in.begin(), in.end());
    fix_lz4_header_checksum(fixed);
    in = fixed;
  }
  std::vector<std::byte> out;
  auto st = lz4_frame_decompress(in, out, max_out);
  if (!st.ok()) {
    // lz4_frame reports its bound as corrupt ("inflates past N bytes"); report it as the limit
    // it is here.
    if (st.error().message().find("inflates past") != std::string::npos) {
      return too_large("lz4", max_out);
    }
    return std::move(st).error();
  }
  return out;
}

// zstd frames (one or several, as Kafka's producers write them), streamed so that the output
// never exceeds max_out whatever the frame header claims.
Result<std::vector<std::byte>> zstd_decompress(std::span<const std::byte> in, size_t max_out) {
  // Frames that declare their content size (every client's do) are decoded in one call into a
  // buffer of exactly that size: several times faster than streaming through a small chunk, and
  // a declared size past the bound is refused before anything is allocated. A frame whose data
  // does not match its declared size fails in ZSTD_decompress.
  // Only for input that is exactly one frame; several frames take the streaming path.
  const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  const size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
  if (declared != ZSTD_CONTENTSIZE_ERROR && declared != ZSTD_CONTENTSIZE_UNKNOWN &&
      !ZSTD_isError(frame) && frame == in.size()) {
    if (declared > max_out) return too_large("zstd", max_out);
    std::vector<std::byte> out(static_cast<size_t>(declared));
    const size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(n)) return Error(Errc::corrupt, std::string("zstd: ") + ZSTD_getErrorName(n));
    if (n != out.size()) return Error(Errc::corrupt, "zstd: frame shorter than its declared size");
    return out;
  }
  struct DCtx {
    ZSTD_DStream* s = ZSTD_createDStream();
    ~DCtx() { ZSTD_freeDStream(s); }
  } ctx;
  if (ctx.s == nullptr) return Error(Errc::io, "zstd: cannot allocate a decoder");
  ZSTD_initDStream(ctx.s);
  std::vector<std::byte> out;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t last = 1;  // 0 once a frame is complete
  std::byte chunk[16 * 1024];
  while (input.pos < input.size || last != 0) {
    ZSTD_outBuffer output{chunk, sizeof chunk, 0};
    last = ZSTD_decompressStream(ctx.s, &output, &input);
    if (ZSTD_isError(last)) {
      return Error(Errc::corrupt, std::string("zstd: ") + ZSTD_getErrorName(last));
    }
    if (output.pos > max_out - out.size()) return too_large("zstd", max_out);
    out.insert(out.end(), chunk, chunk + output.pos);
    if (input.pos == input.size && last != 0 && output.pos == 0) {
      return Error(Errc::corrupt, "zstd: truncated frame");
    }
  }
  return out;
}

}  // namespace

Result<std::vector<std::byte>> decompress(Compression codec, std::span<const std::byte> in,
                                          size_t max_out, bool legacy_lz4_framing) {
  switch (codec) {
    case Compression::none:
      if (in.size() > max_out) return too_large("none", max_out);
      return std::vector<std::byte>(in.begin(), in.end());
    case Compression::gzip: return gzip_decompress(in, max_out);
    case Compression::snappy: return snappy_decompress(in, max_out);
    case Compression::lz4: return lz4_decompress(in, max_out, legacy_lz4_framing);
    case Compression::zstd: return zstd_decompress(in, max_out);
  }
  return Error(Errc::unsupported, "unknown codec " + std::to_string(static_cast<unsigned>(codec)));
}

Result<std::vector<std::byte>> compress(Compression codec, std::span<const std::byte> in) {
  if (in.size() > static_cast<size_t>(INT32_MAX)) {
    return Error(Errc::too_large, "compress: input over 2 GiB");
  }
  switch (codec) {
    case Compression::none: return std::vector<std::byte>(in.begin(), in.end());
    case Compression::gzip: return gzip_compress(in);
    case Compression::snappy: return snappy_compress(in);
    case Compression::lz4: return lz4_frame_compress(in);
    case Compression::zstd: {
      std::vector<std::byte> out(ZSTD_compressBound(in.size()));
      const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
      if (ZSTD_isError(n)) return Error(Errc::invalid_argument, ZSTD_getErrorName(n));
      out.resize(n);
      return out;
    }
  }
  return Error(Errc::unsupported, "unknown codec " + std::to_string(static_cast<unsigned>(codec)));
}

uint32_t crc32_ieee(std::span<const std::byte> in) noexcept {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!in.empty()) {
    const uInt n = zlib_len(in.size());
    crc = crc32(crc, reinterpret_cast<const Bytef*>(in.data()), n);
    in = in.subspan(n);
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace ferry::protocol
