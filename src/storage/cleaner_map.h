// The cleaner's key map: a fixed-size open-addressing table from a 128-bit hash of a record key
// to the offset of the latest record with that key, as Kafka's SkimpyOffsetMap. Its memory is
// allocated once (log.cleaner.dedupe.buffer.size) and never grows: put() refuses when the table
// is at its load limit, and the cleaner then ends the pass at a batch boundary (a log with more
// distinct keys than one map holds is cleaned in several passes).
//
// Two different keys with the same 128-bit hash would make the older one's records look
// superseded; with a non-cryptographic hash this is a risk only for keys chosen to collide.
//
// Not thread-safe; the cleaner uses one map per pass on one thread-pool thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/strong_types.h"

namespace ferry::storage {

struct KeyHash {
  uint64_t a = 0;
  uint64_t b = 0;
  bool operator==(const KeyHash&) const = default;
};

// The 128-bit hash of a record key (two independent 64-bit hashes).
KeyHash hash_key(std::span<const std::byte> key) noexcept;

class OffsetMap {
 public:
  // Bytes one entry takes (hash + offset).
  static constexpr size_t kEntryBytes = 24;
  // The share of slots that may be used before put() refuses (Kafka's dedupe load factor).
  static constexpr double kLoadFactor = 0.9;

  // A map using about `buffer_bytes` of memory (at least 16 slots).
  explicit OffsetMap(uint64_t buffer_bytes);

  // Records `offset` as the latest for `key`'s hash. False when the map is full (nothing was
  // stored). An existing entry is overwritten (the caller adds offsets in increasing order).
  bool put(const KeyHash& key, Offset offset);
  // The latest offset stored for the hash, or nullopt.
  std::optional<Offset> get(const KeyHash& key) const;
  // Whether `n` more new keys fit below the load limit.
  bool has_room_for(size_t n) const noexcept { return used_ + n <= limit_; }
  size_t size() const noexcept { return used_; }
  size_t capacity() const noexcept { return limit_; }
  uint64_t memory_bytes() const noexcept { return slots_.size() * kEntryBytes; }
  void clear();

 private:
  struct Slot {
    KeyHash key;
    int64_t offset = -1;  // -1: empty
  };
  size_t probe_start(const KeyHash& key) const noexcept {
    return static_cast<size_t>(key.a % slots_.size());
  }
  std::vector<Slot> slots_;
  size_t used_ = 0;
  size_t limit_ = 0;
};

}  // namespace ferry::storage
