// Legacy message sets (magic 0 and 1): parsing with CRC checks, up-conversion to a record
// batch v2 and down-conversion from record batches v2.
#include "protocol/legacy_message_set.h"

#include <deque>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "protocol/record_batch.h"

namespace ferry::protocol {
namespace {

namespace ll = legacy_layout;

Error corrupt(const std::string& what) { return Error(Errc::corrupt, "message set: " + what); }

// One parsed message; key and value point into the source.
struct Message {
  int8_t magic = 0;
  uint8_t attributes = 0;
  int64_t timestamp = -1;  // magic 1 only
  std::optional<std::span<const std::byte>> key;
  std::optional<std::span<const std::byte>> value;

  Compression codec() const noexcept {
    return static_cast<Compression>(attributes & legacy_attr::kCompressionMask);
  }
  bool log_append_time() const noexcept {
    return magic == 1 && (attributes & legacy_attr::kTimestampTypeLogAppend) != 0;
  }
};

// Takes an int32-length-prefixed bytes field (-1 = null) from the front of `in`.
bool take_bytes(std::span<const std::byte>& in, std::optional<std::span<const std::byte>>* dst) {
  if (in.size() < 4) return false;
  const int32_t len = load_i32(in.data());
  in = in.subspan(4);
  if (len < -1) return false;
  if (len == -1) {
    dst->reset();
    return true;
  }
  if (static_cast<size_t>(len) > in.size()) return false;
  *dst = in.first(static_cast<size_t>(len));
  in = in.subspan(static_cast<size_t>(len));
  return true;
}

// Parses one message (the `messageSize` bytes after an entry's prefix): magic, CRC and fields,
// which must use every byte.
Result<Message> parse_message(std::span<const std::byte> msg) {
  if (msg.size() < ll::kMinMessageSizeV0) return corrupt("message shorter than 14 bytes");
  Message m;
  m.magic = static_cast<int8_t>(msg[ll::kMagic]);
  if (m.magic != 0 && m.magic != 1) {
    return corrupt("magic " + std::to_string(m.magic) + " in a legacy message set");
  }
  if (m.magic == 1 && msg.size() < ll::kMinMessageSizeV1) {
    return corrupt("magic-1 message shorter than 22 bytes");
  }
  if (load_be32(msg.data() + ll::kCrc) != crc32_ieee(msg.subspan(ll::kMagic))) {
    return corrupt("CRC mismatch");
  }
  m.attributes = static_cast<uint8_t>(msg[ll::kAttributes]);
  std::span<const std::byte> rest;
  if (m.magic == 1) {
    m.timestamp = load_i64(msg.data() + ll::kTimestampV1);
    rest = msg.subspan(ll::kKeyLengthV1);
  } else {
    rest = msg.subspan(ll::kKeyLengthV0);
  }
  if (!take_bytes(rest, &m.key) || !take_bytes(rest, &m.value)) {
    return corrupt("bad key or value length");
  }
  if (!rest.empty()) return corrupt("message longer than its fields");
  return m;
}

// Calls `fn(const Message&)` for every entry of a message set; every entry must be complete.
template <typename Fn>
Status for_each_message(std::span<const std::byte> set, Fn&& fn) {
  size_t at = 0;
  while (!set.empty()) {
    if (set.size() < ll::kLogOverhead) {
      return corrupt("truncated entry at byte " + std::to_string(at));
    }
    const int32_t size = load_i32(set.data() + ll::kMessageSize);
    if (size < 0 || static_cast<size_t>(size) > set.size() - ll::kLogOverhead) {
      return corrupt("message size " + std::to_string(size) + " at byte " + std::to_string(at) +
                     " with " + std::to_string(set.size() - ll::kLogOverhead) + " bytes left");
    }
    auto m = parse_message(set.subspan(ll::kLogOverhead, static_cast<size_t>(size)));
    if (!m) {
      return Error(m.error().code(), m.error().message() + " at byte " + std::to_string(at));
    }
    FERRY_TRY(fn(*m));
    const size_t entry = ll::kLogOverhead + static_cast<size_t>(size);
    set = set.subspan(entry);
    at += entry;
  }
  return {};
}

std::optional<std::string_view> view(const std::optional<std::span<const std::byte>>& s) {
  if (!s) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(s->data()), s->size());
}

void append_be64(std::vector<std::byte>& out, uint64_t v) {
  std::byte b[8];
  store_be64(b, v);
  out.insert(out.end(), b, b + 8);
}
void append_be32(std::vector<std::byte>& out, uint32_t v) {
  std::byte b[4];
  store_be32(b, v);
  out.insert(out.end(), b, b + 4);
}
void append_bytes_field(std::vector<std::byte>& out,
                        const std::optional<std::span<const std::byte>>& s) {
  if (!s) {
    append_be32(out, UINT32_MAX);  // -1
    return;
  }
  append_be32(out, static_cast<uint32_t>(s->size()));
  out.insert(out.end(), s->begin(), s->end());
}

// Two's complement addition without undefined behaviour on hostile values.
int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

}  // namespace

std::optional<int8_t> peek_magic(std::span<const std::byte> records) noexcept {
  if (records.size() <= batch_layout::kMagic) return std::nullopt;
  return static_cast<int8_t>(records[batch_layout::kMagic]);
}

Status append_legacy_message(std::vector<std::byte>& out, int8_t magic, int64_t offset,
                             uint8_t attributes, int64_t timestamp,
                             std::optional<std::span<const std::byte>> key,
                             std::optional<std::span<const std::byte>> value) {
  if (magic != 0 && magic != 1) {
    return Error(Errc::invalid_argument, "message set: magic " + std::to_string(magic));
  }
  const size_t fixed = magic == 1 ? ll::kMinMessageSizeV1 : ll::kMinMessageSizeV0;
  const size_t k = key ? key->size() : 0;
  const size_t v = value ? value->size() : 0;
  const auto limit = static_cast<size_t>(INT32_MAX);
  if (k > limit - fixed || v > limit - fixed - k) {
    return Error(Errc::too_large, "message set: message over 2 GiB");
  }
  const size_t size = fixed + k + v;
  append_be64(out, static_cast<uint64_t>(offset));
  append_be32(out, static_cast<uint32_t>(size));
  const size_t crc_at = out.size();
  append_be32(out, 0);  // the CRC, filled in below
  out.push_back(static_cast<std::byte>(magic));
  out.push_back(static_cast<std::byte>(attributes));
  if (magic == 1) append_be64(out, static_cast<uint64_t>(timestamp));
  append_bytes_field(out, key);
  append_bytes_field(out, value);
  const auto covered = std::span<const std::byte>(out).subspan(crc_at + 4);
  store_be32(out.data() + crc_at, crc32_ieee(covered));
  return {};
}

Result<UpconvertedBatch> upconvert_message_set(std::span<const std::byte> message_set,
                                               int64_t now_ms, size_t max_inflated) {
  if (message_set.empty()) return Error(Errc::invalid_argument, "message set: empty");
  std::vector<RecordInput> records;
  std::deque<std::vector<std::byte>> inflated;  // owns what inner records point into
  size_t inflated_bytes = 0;
  bool compressed = false;

  auto add = [&records](const Message& m, int64_t timestamp) {
    records.push_back(RecordInput{view(m.key), view(m.value), timestamp, {}});
  };
  auto on_message = [&](const Message& outer) -> Status {
    const Compression codec = outer.codec();
    if (codec == Compression::none) {
      add(outer, outer.magic == 1 ? outer.timestamp : now_ms);
      return {};
    }
    if (codec == Compression::zstd) {
      return Error(Errc::unsupported,
                   "message set: zstd in a magic " + std::to_string(outer.magic) + " message");
    }
    if (static_cast<unsigned>(codec) > static_cast<unsigned>(Compression::zstd)) {
      return corrupt("unknown codec " + std::to_string(static_cast<unsigned>(codec)));
    }
    if (!outer.value) return corrupt("compressed wrapper without a value");
    auto plain = decompress(codec, *outer.value, max_inflated - inflated_bytes, outer.magic == 0);
    if (!plain) {
      return Error(plain.error().code(), "message set: wrapper: " + plain.error().message());
    }
    compressed = true;
    inflated_bytes += plain->size();
    const auto& inner_set = inflated.emplace_back(std::move(plain).value());
    const size_t before = records.size();
    FERRY_TRY(for_each_message(inner_set, [&](const Message& inner) -> Status {
      if (inner.magic != outer.magic) {
        return corrupt("magic " + std::to_string(inner.magic) + " inside a magic " +
                       std::to_string(outer.magic) + " wrapper");
      }
      if (inner.codec() != Compression::none) return corrupt("nested compression");
      int64_t ts = now_ms;
      if (outer.magic == 1) ts = outer.log_append_time() ? outer.timestamp : inner.timestamp;
      add(inner, ts);
      return {};
    }));
    if (records.size() == before) return corrupt("compressed wrapper without messages");
    return {};
  };
  FERRY_TRY(for_each_message(message_set, on_message));

  BuildOptions options;
  options.compression = compressed ? Compression::lz4 : Compression::none;
  auto batch = build_batch(records, options);
  if (!batch) return std::move(batch).error();
  UpconvertedBatch out;
  out.batch = std::move(batch).value();
  out.record_count = static_cast<int32_t>(records.size());  // build_batch checked it fits
  out.compressed = compressed;
  return out;
}

Result<std::vector<std::byte>> downconvert_batches(std::span<const std::byte> batches, int8_t magic,
                                                   size_t max_out, int64_t first_offset) {
  if (magic != 0 && magic != 1) {
    return Error(Errc::invalid_argument,
                 "down-conversion: magic " + std::to_string(magic) + " is not 0 or 1");
  }
  std::vector<std::byte> out;
  std::vector<std::byte> scratch;
  while (batches.size() >= batch_layout::kLogOverhead) {
    const auto size = declared_batch_size(batches);
    if (!size) return corrupt("impossible batchLength");
    if (*size > batches.size()) break;  // a partial trailing batch
    const auto bytes = batches.first(*size);
    batches = batches.subspan(*size);
    FERRY_TRY(validate_batch(bytes));
    const BatchView batch(bytes);
    if (batch.is_control()) continue;
    if (batch.compression() == Compression::zstd) {
      return Error(Errc::unsupported, "down-conversion: zstd batches need magic 2");
    }
    auto records = decode_records(batch, scratch);
    if (!records) return std::move(records).error();
    const bool log_append = (batch.attributes() & batch_attr::kTimestampTypeLogAppend) != 0;
    const uint8_t attributes =
        magic == 1 && log_append ? legacy_attr::kTimestampTypeLogAppend : uint8_t{0};
    for (const Record& r : *records) {
      const size_t before = out.size();
      const int64_t offset = wrapping_add(batch.base_offset().value(), r.offset_delta);
      if (offset < first_offset) continue;
      const int64_t ts = log_append ? batch.max_timestamp()
                                    : wrapping_add(batch.base_timestamp(), r.timestamp_delta);
      FERRY_TRY(append_legacy_message(out, magic, offset, attributes, ts, r.key, r.value));
      if (out.size() > max_out && before > 0) {
        out.resize(before);
        return out;
      }
    }
  }
  return out;
}

}  // namespace ferry::protocol
