// ListOffsets (key 2).
//
// Timestamp -1 asks for the latest offset, -2 for the earliest. v0 answers with a list of
// offsets (old_style_offsets, at most max_num_offsets of them); v1+ with one timestamp/offset.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

struct ListOffsetsRequest {
  struct Topic {
    struct Partition {
      int32_t partition_index = 0;
      int32_t current_leader_epoch = -1;  // v4+
      int64_t timestamp = 0;
      int32_t max_num_offsets = 1;  // v0 only
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.partition_index, all);
        v(m.current_leader_epoch, since(4));
        v(m.timestamp, all);
        v(m.max_num_offsets, upto(0));
      }
      bool operator==(const Partition&) const = default;
    };
    std::string name;
    std::vector<Partition> partitions;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.partitions, all);
    }
    bool operator==(const Topic&) const = default;
  };

  int32_t replica_id = -1;
  int8_t isolation_level = 0;  // v2+
  std::vector<Topic> topics;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.replica_id, all);
    v(m.isolation_level, since(2));
    v(m.topics, all);
  }
  bool operator==(const ListOffsetsRequest&) const = default;
};

struct ListOffsetsResponse {
  struct Topic {
    struct Partition {
      int32_t partition_index = 0;
      int16_t error_code = 0;
      std::vector<int64_t> old_style_offsets;  // v0 only
      int64_t timestamp = -1;                  // v1+
      int64_t offset = -1;                     // v1+
      int32_t leader_epoch = -1;               // v4+
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.partition_index, all);
        v(m.error_code, all);
        v(m.old_style_offsets, upto(0));
        v(m.timestamp, since(1));
        v(m.offset, since(1));
        v(m.leader_epoch, since(4));
      }
      bool operator==(const Partition&) const = default;
    };
    std::string name;
    std::vector<Partition> partitions;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.partitions, all);
    }
    bool operator==(const Topic&) const = default;
  };

  int32_t throttle_time_ms = 0;  // v2+
  std::vector<Topic> topics;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(2));
    v(m.topics, all);
  }
  bool operator==(const ListOffsetsResponse&) const = default;
};

}  // namespace ferry::protocol
