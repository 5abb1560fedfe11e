// Strong integer types for offsets, epochs, partition ids, node ids and producer ids, so that a
// source offset cannot be passed where a node id (or a target offset) is expected.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace ferry {

// A distinct integer type: explicit construction, comparison, and only the arithmetic that
// makes sense for a position (adding a count).
template <typename Tag, typename Rep>
struct StrongInt {
  using rep = Rep;
  Rep v{};

  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep value) : v(value) {}
  constexpr Rep value() const noexcept { return v; }
  constexpr auto operator<=>(const StrongInt&) const = default;

  constexpr StrongInt operator+(Rep n) const { return StrongInt(static_cast<Rep>(v + n)); }
  constexpr StrongInt operator-(Rep n) const { return StrongInt(static_cast<Rep>(v - n)); }
  constexpr Rep operator-(StrongInt o) const { return static_cast<Rep>(v - o.v); }
  constexpr StrongInt& operator+=(Rep n) {
    v = static_cast<Rep>(v + n);
    return *this;
  }
};

struct OffsetTag {};
struct EpochTag {};
struct PartitionIdTag {};
struct NodeIdTag {};
struct ProducerIdTag {};

using Offset = StrongInt<OffsetTag, int64_t>;            // position of a record in a partition
using LeaderEpoch = StrongInt<EpochTag, int32_t>;        // partition leader epoch / Raft term
using PartitionId = StrongInt<PartitionIdTag, int32_t>;  // partition index within a topic
using NodeId = StrongInt<NodeIdTag, int32_t>;            // broker node id
using ProducerId = StrongInt<ProducerIdTag, int64_t>;    // idempotent producer id

}  // namespace ferry

template <typename Tag, typename Rep>
struct std::hash<ferry::StrongInt<Tag, Rep>> {
  size_t operator()(const ferry::StrongInt<Tag, Rep>& s) const noexcept {
    return std::hash<Rep>{}(s.v);
  }
};
