// Kafka varint encoding (see varint.h; decoding is inline there).
#include "protocol/varint.h"

namespace ferry::protocol {
namespace {

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
