// Kafka varints: zig-zag signed varint/varlong (record fields) and unsigned varints (compact
// wire fields), with bounds-checked decoding.
//
// Encoding: 7 bits per byte, least significant group first, high bit set on every byte but the
// last. Signed values are zig-zag mapped first (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...), as in
// protobuf's sint32/sint64. An int32 takes at most 5 bytes, an int64 at most 10.
//
// Decoding accepts non-minimal (zero-padded) encodings within those lengths, as Kafka does, and
// rejects a truncated encoding, one longer than the maximum, and a last byte carrying bits beyond
// the type's width. On failure nothing is consumed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace ferry::protocol {

inline constexpr size_t kMaxVarintBytes = 5;
inline constexpr size_t kMaxVarlongBytes = 10;

// Zig-zag mapping between signed and unsigned integers.
constexpr uint32_t zigzag_encode32(int32_t v) noexcept {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}
constexpr int32_t zigzag_decode32(uint32_t v) noexcept {
  return static_cast<int32_t>((v >> 1) ^ (0u - (v & 1u)));
}
constexpr uint64_t zigzag_encode64(int64_t v) noexcept {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int64_t zigzag_decode64(uint64_t v) noexcept {
  return static_cast<int64_t>((v >> 1) ^ (uint64_t{0} - (v & 1u)));
}

namespace varint_detail {
// Decodes an unsigned base-128 integer of at most `MaxBytes` bytes whose value fits in `Bits`
// bits, advancing `in` only on success. Inline: it runs for every field of every record.
template <size_t MaxBytes, unsigned Bits>
inline std::optional<uint64_t> read_base128(std::span<const std::byte>& in) noexcept {
  static_assert(Bits > 7 * (MaxBytes - 1) && Bits <= 7 * MaxBytes && Bits <= 64);
  const size_t n = in.size() < MaxBytes ? in.size() : MaxBytes;
  uint64_t value = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto b = static_cast<uint64_t>(in[i]);
    value |= (b & 0x7Fu) << (7 * i);
    if (b < 0x80u) {
      // The last possible byte may only carry the bits left over to reach `Bits`.
      if (i == MaxBytes - 1 && (b >> (Bits - 7 * (MaxBytes - 1))) != 0) return std::nullopt;
      in = in.subspan(i + 1);
      return value;
    }
  }
  return std::nullopt;  // truncated, or still continuing after MaxBytes
}
}  // namespace varint_detail

// Read from the front of `in`, advancing it past the encoding; nullopt (and `in` untouched) on
// truncation, an overlong encoding or a value out of range for the type.
inline std::optional<int32_t> read_varint(std::span<const std::byte>& in) noexcept {
  auto u = varint_detail::read_base128<kMaxVarintBytes, 32>(in);
  if (!u) return std::nullopt;
  return zigzag_decode32(static_cast<uint32_t>(*u));
}
inline std::optional<int64_t> read_varlong(std::span<const std::byte>& in) noexcept {
  auto u = varint_detail::read_base128<kMaxVarlongBytes, 64>(in);
  if (!u) return std::nullopt;
  return zigzag_decode64(*u);
}
inline std::optional<uint32_t> read_unsigned_varint(std::span<const std::byte>& in) noexcept {
  auto u = varint_detail::read_base128<kMaxVarintBytes, 32>(in);
  if (!u) return std::nullopt;
  return static_cast<uint32_t>(*u);
}

// Append the encoding to `out`.
void write_varint(std::vector<std::byte>& out, int32_t value);
void write_varlong(std::vector<std::byte>& out, int64_t value);
void write_unsigned_varint(std::vector<std::byte>& out, uint32_t value);

// Encoded sizes in bytes.
size_t varint_size(int32_t value) noexcept;
size_t varlong_size(int64_t value) noexcept;
size_t unsigned_varint_size(uint32_t value) noexcept;

}  // namespace ferry::protocol
