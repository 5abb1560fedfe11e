// Zig-zag varint encoding as used inside Kafka record batches v2.
#include "protocol/varint.h"

namespace ferry::protocol {
namespace {

std::optional<uint64_t> read_unsigned(std::span<const std::byte>& in, int max_bytes) noexcept {
  uint64_t value = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (static_cast<size_t>(i) >= in.size()) return std::nullopt;
    auto b = static_cast<uint8_t>(in[static_cast<size_t>(i)]);
    value |= uint64_t{b & 0x7Fu} << (7 * i);
    if ((b & 0x80u) == 0) {
      in = in.subspan(static_cast<size_t>(i) + 1);
      return value;
    }
  }
  return std::nullopt;  // longer than the type allows
}

void write_unsigned(std::vector<std::byte>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::byte>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::byte>(v));
}

size_t unsigned_size(uint64_t v) noexcept {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

constexpr uint64_t zigzag64(int64_t v) noexcept {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int64_t unzigzag64(uint64_t v) noexcept {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

}  // namespace

std::optional<int32_t> read_varint(std::span<const std::byte>& in) noexcept {
  std::span<const std::byte> probe = in;
  auto u = read_unsigned(probe, 5);
  if (!u || *u > 0xFFFFFFFFull) return std::nullopt;
  in = probe;
  return static_cast<int32_t>(unzigzag64(*u));
}

std::optional<int64_t> read_varlong(std::span<const std::byte>& in) noexcept {
  std::span<const std::byte> probe = in;
  auto u = read_unsigned(probe, 10);
  if (!u) return std::nullopt;
  in = probe;
  return unzigzag64(*u);
}

void write_varint(std::vector<std::byte>& out, int32_t value) {
  write_unsigned(out, zigzag64(value));
}
void write_varlong(std::vector<std::byte>& out, int64_t value) {
  write_unsigned(out, zigzag64(value));
}
size_t varint_size(int32_t value) noexcept { return unsigned_size(zigzag64(value)); }
size_t varlong_size(int64_t value) noexcept { return unsigned_size(zigzag64(value)); }

}  // namespace ferry::protocol
