// Fixed byte-order loads and stores. Every on-disk and wire integer goes through these, never
// through a struct's memory, so x86-64, aarch64 and armhf builds read each other's bytes.
// Unaligned access is safe: memcpy compiles to a plain load where the CPU allows it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ferry {

inline uint16_t load_be16(const std::byte* p) noexcept {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}
inline uint32_t load_be32(const std::byte* p) noexcept {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}
inline uint64_t load_be64(const std::byte* p) noexcept {
  return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
inline void store_be16(std::byte* p, uint16_t v) noexcept {
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v);
}
inline void store_be32(std::byte* p, uint32_t v) noexcept {
  p[0] = static_cast<std::byte>(v >> 24);
  p[1] = static_cast<std::byte>(v >> 16);
  p[2] = static_cast<std::byte>(v >> 8);
  p[3] = static_cast<std::byte>(v);
}
inline void store_be64(std::byte* p, uint64_t v) noexcept {
  store_be32(p, static_cast<uint32_t>(v >> 32));
  store_be32(p + 4, static_cast<uint32_t>(v));
}

inline int16_t load_i16(const std::byte* p) noexcept { return static_cast<int16_t>(load_be16(p)); }
inline int32_t load_i32(const std::byte* p) noexcept { return static_cast<int32_t>(load_be32(p)); }
inline int64_t load_i64(const std::byte* p) noexcept { return static_cast<int64_t>(load_be64(p)); }
inline void store_i16(std::byte* p, int16_t v) noexcept { store_be16(p, static_cast<uint16_t>(v)); }
inline void store_i32(std::byte* p, int32_t v) noexcept { store_be32(p, static_cast<uint32_t>(v)); }
inline void store_i64(std::byte* p, int64_t v) noexcept { store_be64(p, static_cast<uint64_t>(v)); }

}  // namespace ferry
