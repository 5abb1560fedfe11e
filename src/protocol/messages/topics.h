// Topic administration: CreateTopics (key 19), DeleteTopics (key 20) and CreatePartitions
// (key 37).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

struct CreateTopicsRequest {
  struct Topic {
    struct Assignment {
      int32_t partition_index = 0;
      std::vector<int32_t> broker_ids;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.partition_index, all);
        v(m.broker_ids, all);
      }
      bool operator==(const Assignment&) const = default;
    };
    struct Config {
      std::string name;
      std::optional<std::string> value;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.name, all);
        v(m.value, all);
      }
      bool operator==(const Config&) const = default;
    };
    std::string name;
    int32_t num_partitions = 0;      // -1: the broker's default (v4+)
    int16_t replication_factor = 0;  // -1: the broker's default (v4+)
    std::vector<Assignment> assignments;
    std::vector<Config> configs;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.num_partitions, all);
      v(m.replication_factor, all);
      v(m.assignments, all);
      v(m.configs, all);
    }
    bool operator==(const Topic&) const = default;
  };

  std::vector<Topic> topics;
  int32_t timeout_ms = 60000;
  bool validate_only = false;  // v1+

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.topics, all);
    v(m.timeout_ms, all);
    v(m.validate_only, since(1));
  }
  bool operator==(const CreateTopicsRequest&) const = default;
};

struct CreateTopicsResponse {
  struct Topic {
    std::string name;
    int16_t error_code = 0;
    std::optional<std::string> error_message;  // v1+
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.error_code, all);
      v(m.error_message, since(1));
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
  bool operator==(const CreateTopicsResponse&) const = default;
};

struct DeleteTopicsRequest {
  std::vector<std::string> topic_names;
  int32_t timeout_ms = 0;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.topic_names, all);
    v(m.timeout_ms, all);
  }
  bool operator==(const DeleteTopicsRequest&) const = default;
};

struct DeleteTopicsResponse {
  struct Result {
    std::string name;
    int16_t error_code = 0;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.error_code, all);
    }
    bool operator==(const Result&) const = default;
  };

  int32_t throttle_time_ms = 0;  // v1+
  std::vector<Result> responses;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(1));
    v(m.responses, all);
  }
  bool operator==(const DeleteTopicsResponse&) const = default;
};

struct CreatePartitionsRequest {
  struct Topic {
    struct Assignment {
      std::vector<int32_t> broker_ids;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.broker_ids, all);
      }
      bool operator==(const Assignment&) const = default;
    };
    std::string name;
    int32_t count = 0;                                   // the new total number of partitions
    std::optional<std::vector<Assignment>> assignments;  // null: the broker assigns
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.count, all);
      v(m.assignments, all);
    }
    bool operator==(const Topic&) const = default;
  };

  std::vector<Topic> topics;
  int32_t timeout_ms = 0;
  bool validate_only = false;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.topics, all);
    v(m.timeout_ms, all);
    v(m.validate_only, all);
  }
  bool operator==(const CreatePartitionsRequest&) const = default;
};

struct CreatePartitionsResponse {
  struct Result {
    std::string name;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.error_code, all);
      v(m.error_message, all);
    }
    bool operator==(const Result&) const = default;
  };

  int32_t throttle_time_ms = 0;
  std::vector<Result> results;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, all);
    v(m.results, all);
  }
  bool operator==(const CreatePartitionsResponse&) const = default;
};

}  // namespace ferry::protocol
