// Metadata (key 3).
//
// Request topics: in v0 an empty array means "all topics"; from v1 null means all topics and an
// empty array means none.
#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

struct MetadataRequest {
  struct Topic {
    std::string name;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
    }
    bool operator==(const Topic&) const = default;
  };

  std::optional<std::vector<Topic>> topics = std::vector<Topic>{};  // nullable v1+
  bool allow_auto_topic_creation = true;                            // v4+
  bool include_cluster_authorized_operations = false;               // v8-10
  bool include_topic_authorized_operations = false;                 // v8+

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.topics, all);
    v(m.allow_auto_topic_creation, since(4));
    v(m.include_cluster_authorized_operations, range(8, 10));
    v(m.include_topic_authorized_operations, since(8));
  }
  bool operator==(const MetadataRequest&) const = default;
};

struct MetadataResponse {
  struct Broker {
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;  // v1+
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.node_id, all);
      v(m.host, all);
      v(m.port, all);
      v(m.rack, since(1));
    }
    bool operator==(const Broker&) const = default;
  };
  struct Topic {
    struct Partition {
      int16_t error_code = 0;
      int32_t partition_index = 0;
      int32_t leader_id = 0;
      int32_t leader_epoch = -1;  // v7+
      std::vector<int32_t> replica_nodes;
      std::vector<int32_t> isr_nodes;
      std::vector<int32_t> offline_replicas;  // v5+
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.error_code, all);
        v(m.partition_index, all);
        v(m.leader_id, all);
        v(m.leader_epoch, since(7));
        v(m.replica_nodes, all);
        v(m.isr_nodes, all);
        v(m.offline_replicas, since(5));
      }
      bool operator==(const Partition&) const = default;
    };
    int16_t error_code = 0;
    std::string name;
    bool is_internal = false;  // v1+
    std::vector<Partition> partitions;
    int32_t topic_authorized_operations = INT32_MIN;  // v8+
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.error_code, all);
      v(m.name, all);
      v(m.is_internal, since(1));
      v(m.partitions, all);
      v(m.topic_authorized_operations, since(8));
    }
    bool operator==(const Topic&) const = default;
  };

  int32_t throttle_time_ms = 0;  // v3+
  std::vector<Broker> brokers;
  std::optional<std::string> cluster_id;  // v2+
  int32_t controller_id = -1;             // v1+
  std::vector<Topic> topics;
  int32_t cluster_authorized_operations = INT32_MIN;  // v8-10

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(3));
    v(m.brokers, all);
    v(m.cluster_id, since(2));
    v(m.controller_id, since(1));
    v(m.topics, all);
    v(m.cluster_authorized_operations, range(8, 10));
  }
  bool operator==(const MetadataResponse&) const = default;
};

}  // namespace ferry::protocol
