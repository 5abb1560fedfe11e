// Produce (key 0).
//
// The records of each partition stay undecoded (RecordsRef, viewing the request frame): record
// batches v2 from Produce v3 on, legacy message sets (magic 0/1) before.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

struct ProduceRequest {
  struct Topic {
    struct Partition {
      int32_t index = 0;
      RecordsRef records;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.index, all);
        v(m.records, all);
      }
      bool operator==(const Partition&) const = default;
    };
    std::string name;
    std::vector<Partition> partition_data;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.partition_data, all);
    }
    bool operator==(const Topic&) const = default;
  };

  std::optional<std::string> transactional_id;  // v3+
  int16_t acks = 0;
  int32_t timeout_ms = 0;
  std::vector<Topic> topic_data;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.transactional_id, since(3));
    v(m.acks, all);
    v(m.timeout_ms, all);
    v(m.topic_data, all);
  }
  bool operator==(const ProduceRequest&) const = default;
};

struct ProduceResponse {
  struct Topic {
    struct Partition {
      struct RecordError {
        int32_t batch_index = 0;
        std::optional<std::string> batch_index_error_message;
        template <class V, class M>
        static void fields(V& v, M& m) {
          v(m.batch_index, all);
          v(m.batch_index_error_message, all);
        }
        bool operator==(const RecordError&) const = default;
      };
      int32_t index = 0;
      int16_t error_code = 0;
      int64_t base_offset = 0;
      int64_t log_append_time_ms = -1;           // v2+
      int64_t log_start_offset = -1;             // v5+
      std::vector<RecordError> record_errors;    // v8+
      std::optional<std::string> error_message;  // v8+
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.index, all);
        v(m.error_code, all);
        v(m.base_offset, all);
        v(m.log_append_time_ms, since(2));
        v(m.log_start_offset, since(5));
        v(m.record_errors, since(8));
        v(m.error_message, since(8));
      }
      bool operator==(const Partition&) const = default;
    };
    std::string name;
    std::vector<Partition> partition_responses;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.partition_responses, all);
    }
    bool operator==(const Topic&) const = default;
  };

  std::vector<Topic> responses;
  int32_t throttle_time_ms = 0;  // v1+

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.responses, all);
    v(m.throttle_time_ms, since(1));
  }
  bool operator==(const ProduceResponse&) const = default;
};

}  // namespace ferry::protocol
