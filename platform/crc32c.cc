// CRC32C implementations: slicing-by-8 tables (portable), SSE4.2 (x86-64), ARMv8 CRC (aarch64).
// The hardware path is chosen once, at first use, from what the running CPU reports.
#include "platform/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#elif defined(__aarch64__)
#include <arm_acle.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace ferry::platform {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
  return t;
}

constexpr Tables kTables = make_tables();

inline uint32_t load_le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

uint32_t crc_table(uint32_t crc, const uint8_t* p, size_t n) {
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo = load_le32(p) ^ c;
    uint32_t hi = load_le32(p + 4);
    c = kTables[7][lo & 0xFF] ^ kTables[6][(lo >> 8) & 0xFF] ^ kTables[5][(lo >> 16) & 0xFF] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xFF] ^ kTables[2][(hi >> 8) & 0xFF] ^
        kTables[1][(hi >> 16) & 0xFF] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFF];
  return ~c;
}

#if defined(__x86_64__) || defined(__aarch64__)
// Hardware paths run three independent CRC chains over consecutive kLane-byte lanes, so the CPU
// overlaps the instruction's latency, then merge them: the CRC register is linear, so advancing a
// lane's register past the following lanes' bytes is "append that many zero bytes", done with
// precomputed tables (one per shift distance, four byte-indexed parts each).
constexpr size_t kLane = 512;

struct ShiftTable {
  std::array<std::array<uint32_t, 256>, 4> t{};
  explicit ShiftTable(size_t zero_bytes) {
    for (uint32_t b = 0; b < 4; ++b) {
      for (uint32_t v = 0; v < 256; ++v) {
        uint32_t s = v << (8 * b);
        for (size_t i = 0; i < zero_bytes; ++i) s = kTables[0][s & 0xFF] ^ (s >> 8);
        t[b][v] = s;
      }
    }
  }
  uint32_t operator()(uint32_t x) const {
    return t[0][x & 0xFF] ^ t[1][(x >> 8) & 0xFF] ^ t[2][(x >> 16) & 0xFF] ^ t[3][x >> 24];
  }
};

const ShiftTable& shift_one_lane() {
  static const ShiftTable table(kLane);
  return table;
}
const ShiftTable& shift_two_lanes() {
  static const ShiftTable table(2 * kLane);
  return table;
}
#endif

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc_hw(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t c = ~crc;
  if (n >= 3 * kLane) {
    const ShiftTable& one = shift_one_lane();
    const ShiftTable& two = shift_two_lanes();
    while (n >= 3 * kLane) {
      uint64_t c0 = c, c1 = 0, c2 = 0;
      for (size_t i = 0; i < kLane; i += 8) {
        uint64_t v0, v1, v2;
        std::memcpy(&v0, p + i, 8);
        std::memcpy(&v1, p + kLane + i, 8);
        std::memcpy(&v2, p + 2 * kLane + i, 8);
        c0 = _mm_crc32_u64(c0, v0);
        c1 = _mm_crc32_u64(c1, v1);
        c2 = _mm_crc32_u64(c2, v2);
      }
      c = two(static_cast<uint32_t>(c0)) ^ one(static_cast<uint32_t>(c1)) ^
          static_cast<uint32_t>(c2);
      p += 3 * kLane;
      n -= 3 * kLane;
    }
  }
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}
bool hw_available() { return __builtin_cpu_supports("sse4.2"); }
constexpr const char* kHwName = "sse4.2";
#elif defined(__aarch64__)
__attribute__((target("+crc"))) uint32_t crc_hw(uint32_t crc, const uint8_t* p, size_t n) {
  uint32_t c = ~crc;
  if (n >= 3 * kLane) {
    const ShiftTable& one = shift_one_lane();
    const ShiftTable& two = shift_two_lanes();
    while (n >= 3 * kLane) {
      uint32_t c0 = c, c1 = 0, c2 = 0;
      for (size_t i = 0; i < kLane; i += 8) {
        uint64_t v0, v1, v2;
        std::memcpy(&v0, p + i, 8);
        std::memcpy(&v1, p + kLane + i, 8);
        std::memcpy(&v2, p + 2 * kLane + i, 8);
        c0 = __crc32cd(c0, v0);
        c1 = __crc32cd(c1, v1);
        c2 = __crc32cd(c2, v2);
      }
      c = two(c0) ^ one(c1) ^ c2;
      p += 3 * kLane;
      n -= 3 * kLane;
    }
  }
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __crc32cd(c, v);
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = __crc32cb(c, *p++);
  return ~c;
}
bool hw_available() { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
constexpr const char* kHwName = "armv8-crc";
#else
uint32_t crc_hw(uint32_t crc, const uint8_t* p, size_t n) { return crc_table(crc, p, n); }
bool hw_available() { return false; }
constexpr const char* kHwName = "table";
#endif

using CrcFn = uint32_t (*)(uint32_t, const uint8_t*, size_t);

CrcFn pick() { return hw_available() ? &crc_hw : &crc_table; }

// Initialised on first use (thread-safe static), so no static-order issues.
CrcFn chosen() {
  static const CrcFn fn = pick();
  return fn;
}

}  // namespace

uint32_t crc32c(uint32_t crc, const void* data, size_t len) noexcept {
  return chosen()(crc, static_cast<const uint8_t*>(data), len);
}

uint32_t crc32c_software(uint32_t crc, const void* data, size_t len) noexcept {
  return crc_table(crc, static_cast<const uint8_t*>(data), len);
}

const char* crc32c_implementation() noexcept { return chosen() == &crc_table ? "table" : kHwName; }

}  // namespace ferry::platform
