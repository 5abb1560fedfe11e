// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by Kafka record batches v2.
//
// crc32c() picks at start-up the fastest implementation the CPU has: SSE4.2 on x86-64, the
// ARMv8 CRC32 extension on aarch64, an 8-way table ("slicing-by-8") otherwise (armhf).
// Check value: crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::platform {

// Extends `crc` (0 for a fresh checksum) with `len` bytes. Pre/post inversion is handled
// inside, so crc32c(crc32c(0, a), b) == crc32c(0, a||b).
uint32_t crc32c(uint32_t crc, const void* data, size_t len) noexcept;

// The portable table implementation, always available (tests compare against it).
uint32_t crc32c_software(uint32_t crc, const void* data, size_t len) noexcept;

// The name of the implementation crc32c() uses: "sse4.2", "armv8-crc" or "table".
const char* crc32c_implementation() noexcept;

}  // namespace ferry::platform
