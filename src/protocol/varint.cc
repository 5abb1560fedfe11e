// Kafka varint encoding and bounds-checked decoding (see varint.h).
#include "protocol/varint.h"

namespace ferry::protocol {
namespace {

// Decodes an unsigned base-128 integer of at most `max_bytes` bytes whose value fits in
// `value_bits` bits. Advances `in` only on success.
std::optional<uint64_t> read_base128(std::span<const std::byte>& in, size_t max_bytes,
                                     unsigned value_bits) noexcept {
  uint64_t value = 0;
  for (size_t i = 0; i < max_bytes && i < in.size(); ++i) {
    const auto b = static_cast<uint8_t>(in[i]);
    const unsigned shift = static_cast<unsigned>(7 * i);
    const uint64_t group = b & 0x7Fu;
    // Bits of this group that would land at or above `value_bits` make the value out of range.
    if (value_bits - shift < 7 && (group >> (value_bits - shift)) != 0) return std::nullopt;
    value |= group << shift;
    if ((b & 0x80u) == 0) {
      in = in.subspan(i + 1);
      return value;
    }
  }
  return std::nullopt;  // truncated, or still continuing after max_bytes
}

void write_base128(std::vector<std::byte>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::byte>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::byte>(v));
}

size_t base128_size(uint64_t v) noexcept {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

}  // namespace

std::optional<int32_t> read_varint(std::span<const std::byte>& in) noexcept {
  auto u = read_base128(in, kMaxVarintBytes, 32);
  if (!u) return std::nullopt;
  return zigzag_decode32(static_cast<uint32_t>(*u));
}

std::optional<int64_t> read_varlong(std::span<const std::byte>& in) noexcept {
  auto u = read_base128(in, kMaxVarlongBytes, 64);
  if (!u) return std::nullopt;
  return zigzag_decode64(*u);
}

std::optional<uint32_t> read_unsigned_varint(std::span<const std::byte>& in) noexcept {
  auto u = read_base128(in, kMaxVarintBytes, 32);
  if (!u) return std::nullopt;
  return static_cast<uint32_t>(*u);
}

void write_varint(std::vector<std::byte>& out, int32_t value) {
  write_base128(out, zigzag_encode32(value));
}
void write_varlong(std::vector<std::byte>& out, int64_t value) {
  write_base128(out, zigzag_encode64(value));
}
void write_unsigned_varint(std::vector<std::byte>& out, uint32_t value) {
  write_base128(out, value);
}

size_t varint_size(int32_t value) noexcept { return base128_size(zigzag_encode32(value)); }
size_t varlong_size(int64_t value) noexcept { return base128_size(zigzag_encode64(value)); }
size_t unsigned_varint_size(uint32_t value) noexcept { return base128_size(value); }

}  // namespace ferry::protocol
