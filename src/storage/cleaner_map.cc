// The cleaner's fixed-size key -> latest offset map.
#include "storage/cleaner_map.h"

#include <algorithm>
#include <cstring>

namespace ferry::storage {
namespace {

uint64_t mix(uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

uint64_t hash64(std::span<const std::byte> key, uint64_t seed) noexcept {
  uint64_t h = seed ^ (static_cast<uint64_t>(key.size()) * 0x9e3779b97f4a7c15ULL);
  size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, key.data() + i, 8);  // host order: the map never leaves memory
    h = mix(h ^ mix(w + seed));
    h = h * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
  }
  uint64_t tail = 0;
  for (size_t j = 0; i + j < key.size(); ++j) {
    tail |= static_cast<uint64_t>(std::to_integer<uint8_t>(key[i + j])) << (8 * j);
  }
  return mix(h ^ mix(tail ^ (seed << 1)));
}

}  // namespace

KeyHash hash_key(std::span<const std::byte> key) noexcept {
  return {hash64(key, 0x243f6a8885a308d3ULL), hash64(key, 0x13198a2e03707344ULL)};
}

OffsetMap::OffsetMap(uint64_t buffer_bytes) {
  const uint64_t slots = std::max<uint64_t>(16, buffer_bytes / kEntryBytes);
  slots_.resize(static_cast<size_t>(slots));
  limit_ = static_cast<size_t>(static_cast<double>(slots_.size()) * kLoadFactor);
}

bool OffsetMap::put(const KeyHash& key, Offset offset) {
  size_t i = probe_start(key);
  for (;;) {
    Slot& s = slots_[i];
    if (s.offset < 0) {
      if (used_ >= limit_) return false;
      s.key = key;
      s.offset = offset.value();
      ++used_;
      return true;
    }
    if (s.key == key) {
      s.offset = offset.value();
      return true;
    }
    i = i + 1 == slots_.size() ? 0 : i + 1;
  }
}

std::optional<Offset> OffsetMap::get(const KeyHash& key) const {
  size_t i = probe_start(key);
  for (;;) {
    const Slot& s = slots_[i];
    if (s.offset < 0) return std::nullopt;
    if (s.key == key) return Offset(s.offset);
    i = i + 1 == slots_.size() ? 0 : i + 1;
  }
}

void OffsetMap::clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{});
  used_ = 0;
}

}  // namespace ferry::storage
