// Record batch v2: validation, record decoding, building, LZ4 re-encoding, header rewrites.
#include "protocol/record_batch.h"

#include <lz4frame.h>

#include <algorithm>
#include <memory>

#include "platform/crc32c.h"
#include "protocol/varint.h"

namespace ferry::protocol {
namespace {

namespace bl = batch_layout;

// A decompressed records section may not exceed this (a hostile frame cannot balloon memory).
constexpr size_t kMaxInflated = size_t{64} << 20;

Error corrupt(std::string what) { return Error(Errc::corrupt, "record batch: " + std::move(what)); }

// Parses one record from the front of `in` (advancing it) into `out`.
Status parse_record(std::span<const std::byte>& in, Record* out) {
  auto length = read_varint(in);
  if (!length || *length < 0 || static_cast<size_t>(*length) > in.size()) {
    return corrupt("bad record length");
  }
  std::span<const std::byte> body = in.first(static_cast<size_t>(*length));
  in = in.subspan(static_cast<size_t>(*length));
  if (body.empty()) return corrupt("empty record");
  Record r;
  r.attributes = static_cast<int8_t>(body[0]);
  body = body.subspan(1);
  auto ts = read_varlong(body);
  auto od = ts ? read_varint(body) : std::nullopt;
  if (!ts || !od) return corrupt("bad record header");
  r.timestamp_delta = *ts;
  r.offset_delta = *od;
  auto bytes_field = [&](std::optional<std::span<const std::byte>>* dst) -> bool {
    auto len = read_varint(body);
    if (!len || *len < -1) return false;
    if (*len == -1) {
      dst->reset();
      return true;
    }
    if (static_cast<size_t>(*len) > body.size()) return false;
    *dst = body.first(static_cast<size_t>(*len));
    body = body.subspan(static_cast<size_t>(*len));
    return true;
  };
  if (!bytes_field(&r.key) || !bytes_field(&r.value)) return corrupt("bad key or value length");
  auto headers = read_varint(body);
  if (!headers || *headers < 0 || static_cast<size_t>(*headers) > body.size()) {
    return corrupt("bad header count");
  }
  r.headers.reserve(static_cast<size_t>(*headers));
  for (int32_t i = 0; i < *headers; ++i) {
    std::optional<std::span<const std::byte>> key;
    Record::Header h;
    if (!bytes_field(&key) || !key || !bytes_field(&h.value)) return corrupt("bad record header");
    h.key = *key;
    r.headers.push_back(h);
  }
  if (!body.empty()) return corrupt("record has trailing bytes");
  if (out != nullptr) *out = std::move(r);
  return {};
}

// Checks the framing of an uncompressed records section without decoding fields: exactly
// `count` length-prefixed records, each non-empty, filling the section to the byte. (The CRC
// already vouches for the content; full decoding happens where records are read.)
Status check_record_framing(std::span<const std::byte> in, int32_t count) {
  for (int32_t i = 0; i < count; ++i) {
    auto length = read_varint(in);
    if (!length || *length <= 0 || static_cast<size_t>(*length) > in.size()) {
      return corrupt(in.empty() ? "fewer records than recordCount" : "bad record length");
    }
    in = in.subspan(static_cast<size_t>(*length));
  }
  if (!in.empty()) return corrupt("bytes after the last record");
  return {};
}

// Walks an uncompressed records section; requires exactly `count` records and no slack.
Status parse_records(std::span<const std::byte> in, int32_t count, std::vector<Record>* out) {
  if (count < 0) return corrupt("negative recordCount");
  if (out != nullptr) out->reserve(static_cast<size_t>(std::min<int32_t>(count, 1 << 16)));
  for (int32_t i = 0; i < count; ++i) {
    if (in.empty()) return corrupt("fewer records than recordCount");
    Record r;
    FERRY_TRY(parse_record(in, out ? &r : nullptr));
    if (out != nullptr) out->push_back(std::move(r));
  }
  if (!in.empty()) return corrupt("bytes after the last record");
  return {};
}

Result<std::vector<std::byte>> lz4_compress(std::span<const std::byte> in) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentSize = in.size();
  std::vector<std::byte> out(LZ4F_compressFrameBound(in.size(), &prefs));
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) {
    return Error(Errc::invalid_argument, std::string("lz4: ") + LZ4F_getErrorName(n));
  }
  out.resize(n);
  return out;
}

Result<std::vector<std::byte>> lz4_decompress(std::span<const std::byte> in) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return Error(Errc::io, "lz4: cannot create a decompression context");
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(
      raw, &LZ4F_freeDecompressionContext);
  std::vector<std::byte> out;
  size_t produced = 0;
  size_t chunk = std::max<size_t>(in.size() * 4, 64 << 10);
  while (true) {
    if (out.size() - produced < (16 << 10)) {
      if (out.size() >= kMaxInflated) return corrupt("lz4 data inflates past the limit");
      out.resize(std::min(kMaxInflated, out.size() + chunk));
    }
    size_t dst = out.size() - produced;
    size_t src = in.size();
    size_t hint = LZ4F_decompress(ctx.get(), out.data() + produced, &dst, in.data(), &src, nullptr);
    if (LZ4F_isError(hint)) return corrupt(std::string("lz4: ") + LZ4F_getErrorName(hint));
    produced += dst;
    in = in.subspan(src);
    if (hint == 0) break;  // frame complete
    if (in.empty() && dst == 0) return corrupt("lz4 frame truncated");
  }
  if (!in.empty()) return corrupt("bytes after the lz4 frame");
  out.resize(produced);
  return out;
}

void finish_header(std::span<std::byte> batch) {
  store_be32(batch.data() + bl::kCrc, compute_batch_crc(batch));
}

}  // namespace

std::string_view compression_name(Compression c) noexcept {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::snappy: return "snappy";
    case Compression::lz4: return "lz4";
    case Compression::zstd: return "zstd";
  }
  return "unknown";
}

uint32_t compute_batch_crc(std::span<const std::byte> batch) noexcept {
  return platform::crc32c(0, batch.data() + bl::kAttributes, batch.size() - bl::kAttributes);
}

std::optional<size_t> declared_batch_size(std::span<const std::byte> bytes) noexcept {
  if (bytes.size() < bl::kLogOverhead) return std::nullopt;
  int32_t len = load_i32(bytes.data() + bl::kBatchLength);
  if (len < static_cast<int32_t>(bl::kHeaderSize - bl::kLogOverhead)) return std::nullopt;
  return bl::kLogOverhead + static_cast<size_t>(static_cast<uint32_t>(len));
}

Status validate_batch(std::span<const std::byte> bytes) {
  if (bytes.size() < bl::kHeaderSize) return corrupt("shorter than the 61-byte header");
  auto declared = declared_batch_size(bytes);
  if (!declared || *declared != bytes.size()) return corrupt("batchLength does not match size");
  BatchView v(bytes);
  if (v.magic() != kMagicV2) {
    return Error(Errc::unsupported, "record batch: magic " + std::to_string(v.magic()));
  }
  if (v.crc() != compute_batch_crc(bytes)) return corrupt("CRC mismatch");
  if ((v.attributes() & batch_attr::kCompressionMask) > 4) {
    return Error(Errc::unsupported, "record batch: unknown compression codec");
  }
  int32_t count = v.record_count();
  if (count < 0 || v.last_offset_delta() < 0 || (count > 0 && v.last_offset_delta() < count - 1)) {
    return corrupt("recordCount and lastOffsetDelta disagree");
  }
  if (v.compression() == Compression::none) {
    return check_record_framing(v.records_bytes(), count);
  }
  if (v.records_bytes().empty() && count > 0) return corrupt("compressed batch without data");
  return {};
}

void set_producer_fields(std::span<std::byte> batch, ProducerId pid, int16_t epoch,
                         int32_t base_sequence) noexcept {
  store_i64(batch.data() + bl::kProducerId, pid.value());
  store_i16(batch.data() + bl::kProducerEpoch, epoch);
  store_i32(batch.data() + bl::kBaseSequence, base_sequence);
  finish_header(batch);
}

Result<std::vector<Record>> decode_records(const BatchView& batch,
                                           std::vector<std::byte>& scratch) {
  std::span<const std::byte> records = batch.records_bytes();
  switch (batch.compression()) {
    case Compression::none: break;
    case Compression::lz4: {
      auto plain = lz4_decompress(records);
      if (!plain) return std::move(plain).error();
      scratch = std::move(plain).value();
      records = scratch;
      break;
    }
    default:
      // gzip, snappy and zstd are decoded by the broker's format conversion, not here yet.
      return Error(Errc::unsupported, "record batch: cannot decode " +
                                          std::string(compression_name(batch.compression())));
  }
  std::vector<Record> out;
  FERRY_TRY(parse_records(records, batch.record_count(), &out));
  return out;
}

namespace {

void write_bytes_field(std::vector<std::byte>& out, const std::optional<std::string_view>& s) {
  if (!s) {
    write_varint(out, -1);
    return;
  }
  write_varint(out, static_cast<int32_t>(s->size()));
  const auto* p = reinterpret_cast<const std::byte*>(s->data());
  out.insert(out.end(), p, p + s->size());
}

std::vector<std::byte> encode_records(std::span<const RecordInput> records, int64_t base_ts) {
  std::vector<std::byte> out, body;
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordInput& r = records[i];
    body.clear();
    body.push_back(std::byte{0});  // record attributes (unused)
    write_varlong(body, r.timestamp_ms - base_ts);
    write_varint(body, static_cast<int32_t>(i));
    write_bytes_field(body, r.key);
    write_bytes_field(body, r.value);
    write_varint(body, static_cast<int32_t>(r.headers.size()));
    for (const auto& [k, v] : r.headers) {
      write_bytes_field(body, k);
      write_bytes_field(body, v);
    }
    write_varint(out, static_cast<int32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
  }
  return out;
}

// Header + records into one batch; sets batchLength and the CRC.
std::vector<std::byte> assemble(std::span<const std::byte> header,
                                std::span<const std::byte> records, uint16_t attributes) {
  std::vector<std::byte> out(bl::kHeaderSize + records.size());
  std::copy(header.begin(), header.begin() + bl::kHeaderSize, out.begin());
  std::copy(records.begin(), records.end(), out.begin() + bl::kHeaderSize);
  store_i32(out.data() + bl::kBatchLength, static_cast<int32_t>(out.size() - bl::kLogOverhead));
  store_be16(out.data() + bl::kAttributes, attributes);
  finish_header(out);
  return out;
}

}  // namespace

Result<std::vector<std::byte>> build_batch(std::span<const RecordInput> records,
                                           const BuildOptions& o) {
  if (records.empty()) return Error(Errc::invalid_argument, "a batch needs at least one record");
  if (o.compression != Compression::none && o.compression != Compression::lz4) {
    return Error(Errc::unsupported, "build_batch: only none and lz4 compression");
  }
  int64_t base_ts = records.front().timestamp_ms;
  int64_t max_ts = base_ts;
  for (const auto& r : records) max_ts = std::max(max_ts, r.timestamp_ms);
  std::byte header[bl::kHeaderSize] = {};
  store_i64(header + bl::kBaseOffset, o.base_offset.value());
  store_i32(header + bl::kPartitionLeaderEpoch, o.leader_epoch.value());
  header[bl::kMagic] = static_cast<std::byte>(kMagicV2);
  store_i32(header + bl::kLastOffsetDelta, static_cast<int32_t>(records.size() - 1));
  store_i64(header + bl::kBaseTimestamp, base_ts);
  store_i64(header + bl::kMaxTimestamp, max_ts);
  store_i64(header + bl::kProducerId, o.producer_id.value());
  store_i16(header + bl::kProducerEpoch, o.producer_epoch);
  store_i32(header + bl::kBaseSequence, o.base_sequence);
  store_i32(header + bl::kRecordCount, static_cast<int32_t>(records.size()));
  uint16_t attributes = o.log_append_time ? batch_attr::kTimestampTypeLogAppend : 0;
  std::vector<std::byte> plain = encode_records(records, base_ts);
  if (o.compression == Compression::lz4) {
    auto lz = lz4_compress(plain);
    if (!lz) return std::move(lz).error();
    return assemble(header, *lz, attributes | static_cast<uint16_t>(Compression::lz4));
  }
  return assemble(header, plain, attributes);
}

Result<std::vector<std::byte>> recompress_lz4(const BatchView& batch) {
  if (batch.compression() != Compression::none) {
    return Error(Errc::invalid_argument, "recompress_lz4: batch is already compressed");
  }
  auto lz = lz4_compress(batch.records_bytes());
  if (!lz) return std::move(lz).error();
  uint16_t attributes = static_cast<uint16_t>((batch.attributes() & ~batch_attr::kCompressionMask) |
                                              static_cast<uint16_t>(Compression::lz4));
  return assemble(batch.bytes(), *lz, attributes);
}

}  // namespace ferry::protocol
