// Fetch (key 1).
//
// v7 adds incremental fetch sessions (session_id/session_epoch, forgotten topics); v11 adds the
// consumer's rack for follower fetching. Response records stay undecoded (RecordsRef).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

struct FetchRequest {
  struct Topic {
    struct Partition {
      int32_t partition = 0;
      int32_t current_leader_epoch = -1;  // v9+
      int64_t fetch_offset = 0;
      int64_t log_start_offset = -1;  // v5+
      int32_t partition_max_bytes = 0;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.partition, all);
        v(m.current_leader_epoch, since(9));
        v(m.fetch_offset, all);
        v(m.log_start_offset, since(5));
        v(m.partition_max_bytes, all);
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
  struct ForgottenTopic {
    std::string topic;
    std::vector<int32_t> partitions;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.topic, all);
      v(m.partitions, all);
    }
    bool operator==(const ForgottenTopic&) const = default;
  };

  int32_t replica_id = -1;
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = 0x7fffffff;  // v3+
  int8_t isolation_level = 0;      // v4+
  int32_t session_id = 0;          // v7+
  int32_t session_epoch = -1;      // v7+
  std::vector<Topic> topics;
  std::vector<ForgottenTopic> forgotten_topics_data;  // v7+
  std::string rack_id;                                // v11+

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.replica_id, all);
    v(m.max_wait_ms, all);
    v(m.min_bytes, all);
    v(m.max_bytes, since(3));
    v(m.isolation_level, since(4));
    v(m.session_id, since(7));
    v(m.session_epoch, since(7));
    v(m.topics, all);
    v(m.forgotten_topics_data, since(7));
    v(m.rack_id, since(11));
  }
  bool operator==(const FetchRequest&) const = default;
};

struct FetchResponse {
  struct Topic {
    struct Partition {
      struct AbortedTransaction {
        int64_t producer_id = 0;
        int64_t first_offset = 0;
        template <class V, class M>
        static void fields(V& v, M& m) {
          v(m.producer_id, all);
          v(m.first_offset, all);
        }
        bool operator==(const AbortedTransaction&) const = default;
      };
      int32_t partition_index = 0;
      int16_t error_code = 0;
      int64_t high_watermark = 0;
      int64_t last_stable_offset = -1;                                      // v4+
      int64_t log_start_offset = -1;                                        // v5+
      std::optional<std::vector<AbortedTransaction>> aborted_transactions;  // v4+, nullable
      int32_t preferred_read_replica = -1;                                  // v11+
      RecordsRef records;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.partition_index, all);
        v(m.error_code, all);
        v(m.high_watermark, all);
        v(m.last_stable_offset, since(4));
        v(m.log_start_offset, since(5));
        v(m.aborted_transactions, since(4));
        v(m.preferred_read_replica, since(11));
        v(m.records, all);
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

  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;        // v7+
  int32_t session_id = 0;        // v7+
  std::vector<Topic> responses;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(1));
    v(m.error_code, since(7));
    v(m.session_id, since(7));
    v(m.responses, all);
  }
  bool operator==(const FetchResponse&) const = default;
};

}  // namespace ferry::protocol
