// Zig-zag varints (Kafka record fields): encode, and bounds-checked decode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace ferry::protocol {

// Reads from the front of `in`, advancing it; nullopt on truncation, overlong encodings or
// values out of range for the type.
std::optional<int32_t> read_varint(std::span<const std::byte>& in) noexcept;
std::optional<int64_t> read_varlong(std::span<const std::byte>& in) noexcept;

void write_varint(std::vector<std::byte>& out, int32_t value);
void write_varlong(std::vector<std::byte>& out, int64_t value);
size_t varint_size(int32_t value) noexcept;
size_t varlong_size(int64_t value) noexcept;

}  // namespace ferry::protocol
