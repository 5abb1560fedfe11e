// OffsetForLeaderEpoch (key 23): for each partition, the end offset of an epoch in the leader's
// log (the largest epoch <= the one asked about, and the start of the next epoch or the log
// end). Consumers validate their position with it after a leader change (KIP-320); followers
// find where their log diverges (KIP-101/279).
//
// v1 answers with the epoch found, v2 adds current_leader_epoch (fencing, -1 = no check) and the
// throttle time, v3 adds replica_id (a follower's node id; -1 for consumers, -2 from debugging
// tools). v4 is flexible and not spoken here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

struct OffsetForLeaderEpochRequest {
  struct Topic {
    struct Partition {
      int32_t partition = 0;
      int32_t current_leader_epoch = -1;  // v2+
      int32_t leader_epoch = 0;           // the epoch to find the end of
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.partition, all);
        v(m.current_leader_epoch, since(2));
        v(m.leader_epoch, all);
      }
      bool operator==(const Partition&) const = default;
    };
    std::string topic;
    std::vector<Partition> partitions;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.topic, all);
      v(m.partitions, all);
    }
    bool operator==(const Topic&) const = default;
  };

  int32_t replica_id = -1;  // v3+
  std::vector<Topic> topics;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.replica_id, since(3));
    v(m.topics, all);
  }
  bool operator==(const OffsetForLeaderEpochRequest&) const = default;
};

struct OffsetForLeaderEpochResponse {
  struct Topic {
    struct Partition {
      int16_t error_code = 0;
      int32_t partition = 0;
      int32_t leader_epoch = -1;  // v1+
      int64_t end_offset = -1;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.error_code, all);
        v(m.partition, all);
        v(m.leader_epoch, since(1));
        v(m.end_offset, all);
      }
      bool operator==(const Partition&) const = default;
    };
    std::string topic;
    std::vector<Partition> partitions;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.topic, all);
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
  bool operator==(const OffsetForLeaderEpochResponse&) const = default;
};

}  // namespace ferry::protocol
