// Compression codecs: gzip through zlib, snappy (raw and xerial) by hand, LZ4 through
// lz4_frame.h with the legacy header-checksum fix-up, and zlib's CRC-32.
#include "protocol/compression.h"

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
// declare more than this many output bytes per input byte.
constexpr uint64_t kSnappyMaxExpansion = 22;

uint32_t load_le(const std::byte* p, size_t n) noexcept {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}

// Decodes one raw snappy block, appending its output to `out`; `out` as a whole stays within
// max_out bytes. Copies reach back only into this block's output.
Status snappy_raw_append(std::span<const std::byte> in, std::vector<std::byte>& out,
                         size_t max_out) {
  const auto declared = read_unsigned_varint(in);
  if (!declared) return corrupt("snappy", "bad uncompressed length");
  const uint64_t n = *declared;
  if (n > max_out - std::min(max_out, out.size()) || out.size() > max_out) {
    return too_large("snappy", max_out);
  }
  if (n > kSnappyMaxExpansion * static_cast<uint64_t>(in.size())) {
    return corrupt("snappy", "uncompressed length " + std::to_string(n) +
                                 " impossible for a block of " + std::to_string(in.size()) +
                                 " bytes");
  }
  const size_t start = out.size();
  const size_t end = start + static_cast<size_t>(n);
  out.resize(end);
  size_t pos = start;
  while (!in.empty()) {
    const auto tag = static_cast<uint32_t>(in[0]);
    in = in.subspan(1);
    uint64_t len = 0;
    uint64_t offset = 0;
    switch (tag & 3u) {
      case 0: {
        len = tag >> 2;
        if (len >= 60) {
          const size_t extra = static_cast<size_t>(len - 59);
          if (in.size() < extra) return corrupt("snappy", "truncated literal length");
          len = load_le(in.data(), extra);
          in = in.subspan(extra);
        }
        len += 1;
        if (len > in.size()) return corrupt("snappy", "literal runs past the input");
        if (len > end - pos) return corrupt("snappy", "output longer than declared");
        const auto lit = in.first(static_cast<size_t>(len));
        std::copy(lit.begin(), lit.end(), out.begin() + static_cast<std::ptrdiff_t>(pos));
        in = in.subspan(static_cast<size_t>(len));
        pos += static_cast<size_t>(len);
        continue;
      }
      case 1:
        if (in.empty()) return corrupt("snappy", "truncated copy");
        len = 4 + ((tag >> 2) & 7u);
        offset = ((tag >> 5) << 8) | static_cast<uint32_t>(in[0]);
        in = in.subspan(1);
        break;
      case 2:
        if (in.size() < 2) return corrupt("snappy", "truncated copy");
        len = 1 + (tag >> 2);
        offset = load_le(in.data(), 2);
        in = in.subspan(2);
        break;
      default:
        if (in.size() < 4) return corrupt("snappy", "truncated copy");
        len = 1 + (tag >> 2);
        offset = load_le(in.data(), 4);
        in = in.subspan(4);
        break;
    }
    if (offset == 0 || offset > pos - start) {
      return corrupt("snappy", "copy offset " + std::to_string(offset) + " outside the output");
    }
    if (len > end - pos) return corrupt("snappy", "output longer than declared");
    // Byte by byte: a copy may overlap its own output (a run).
    const size_t from = pos - static_cast<size_t>(offset);
    for (size_t i = 0; i < static_cast<size_t>(len); ++i) out[pos + i] = out[from + i];
    pos += static_cast<size_t>(len);
  }
  if (pos != end) return corrupt("snappy", "output shorter than declared");
  return {};
}

bool has_xerial_magic(std::span<const std::byte> in) {
  return in.size() >= sizeof(kXerialMagic) &&
         std::equal(std::begin(kXerialMagic), std::end(kXerialMagic), in.begin());
}

Result<std::vector<std::byte>> snappy_decompress(std::span<const std::byte> in, size_t max_out) {
  std::vector<std::byte> out;
  if (!has_xerial_magic(in)) {
    FERRY_TRY(snappy_raw_append(in, out, max_out));
    return out;
  }
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
    FERRY_TRY(snappy_raw_append(in.first(static_cast<size_t>(len)), out, max_out));
    in = in.subspan(static_cast<size_t>(len));
  }
  return out;
}

void snappy_literal(std::vector<std::byte>& out, std::span<const std::byte> lit) {
  if (lit.empty()) return;
  const size_t n = lit.size() - 1;
  if (n < 60) {
    out.push_back(static_cast<std::byte>(n << 2));
  } else {
    size_t bytes = 1;
    while (bytes < 4 && (n >> (8 * bytes)) != 0) ++bytes;
    out.push_back(static_cast<std::byte>((59 + bytes) << 2));
    for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>(n >> (8 * i)));
  }
  out.insert(out.end(), lit.begin(), lit.end());
}

// A copy of `len` bytes from `offset` back (offset < 65536), split into elements of at most
// 64 bytes.
void snappy_copy(std::vector<std::byte>& out, size_t offset, size_t len) {
  while (len > 0) {
    if (len >= 4 && len <= 11 && offset < 2048) {
      out.push_back(static_cast<std::byte>(((offset >> 8) << 5) | ((len - 4) << 2) | 1));
      out.push_back(static_cast<std::byte>(offset));
      return;
    }
    const size_t chunk = std::min<size_t>(len, 64);
    out.push_back(static_cast<std::byte>(((chunk - 1) << 2) | 2));
    out.push_back(static_cast<std::byte>(offset));
    out.push_back(static_cast<std::byte>(offset >> 8));
    len -= chunk;
  }
}

// A greedy single-pass compressor: a hash of each 4-byte sequence points at its last position;
// a match within 64 KiB back becomes a copy. One raw block for the whole input.
std::vector<std::byte> snappy_compress(std::span<const std::byte> in) {
  constexpr unsigned kHashBits = 14;
  constexpr size_t kMaxOffset = 65535;
  std::vector<std::byte> out;
  out.reserve(in.size() + in.size() / 6 + 16);
  write_unsigned_varint(out, static_cast<uint32_t>(in.size()));
  std::vector<uint32_t> table(size_t{1} << kHashBits, 0);  // position + 1, 0 = empty
  size_t i = 0;
  size_t literal_start = 0;
  while (i + 4 <= in.size()) {
    const uint32_t v = load_le(in.data() + i, 4);
    const uint32_t h = (v * 0x1E35A7BDu) >> (32 - kHashBits);
    const uint32_t candidate = table[h];
    table[h] = static_cast<uint32_t>(i + 1);
    if (candidate == 0) {
      ++i;
      continue;
    }
    const size_t c = candidate - 1;
    if (i - c > kMaxOffset || load_le(in.data() + c, 4) != v) {
      ++i;
      continue;
    }
    size_t len = 4;
    while (i + len < in.size() && in[c + len] == in[i + len]) ++len;
    snappy_literal(out, in.subspan(literal_start, i - literal_start));
    snappy_copy(out, i - c, len);
    i += len;
    literal_start = i;
  }
  snappy_literal(out, in.subspan(literal_start));
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
