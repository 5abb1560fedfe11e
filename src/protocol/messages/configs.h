// Configuration APIs: DescribeConfigs (key 32), AlterConfigs (key 33) and
// IncrementalAlterConfigs (key 44).
//
// resource_type: 2 = topic, 4 = broker, 8 = broker logger. IncrementalAlterConfigs
// config_operation: 0 = set, 1 = delete, 2 = append, 3 = subtract.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

struct DescribeConfigsRequest {
  struct Resource {
    int8_t resource_type = 0;
    std::string resource_name;
    std::optional<std::vector<std::string>> configuration_keys;  // null: every key
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.resource_type, all);
      v(m.resource_name, all);
      v(m.configuration_keys, all);
    }
    bool operator==(const Resource&) const = default;
  };

  std::vector<Resource> resources;
  bool include_synonyms = false;       // v1+
  bool include_documentation = false;  // v3+

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.resources, all);
    v(m.include_synonyms, since(1));
    v(m.include_documentation, since(3));
  }
  bool operator==(const DescribeConfigsRequest&) const = default;
};

struct DescribeConfigsResponse {
  struct Result {
    struct Config {
      struct Synonym {
        std::string name;
        std::optional<std::string> value;
        int8_t source = 0;
        template <class V, class M>
        static void fields(V& v, M& m) {
          v(m.name, all);
          v(m.value, all);
          v(m.source, all);
        }
        bool operator==(const Synonym&) const = default;
      };
      std::string name;
      std::optional<std::string> value;
      bool read_only = false;
      bool is_default = false;    // v0 only
      int8_t config_source = -1;  // v1+
      bool is_sensitive = false;
      std::vector<Synonym> synonyms;             // v1+
      int8_t config_type = 0;                    // v3+
      std::optional<std::string> documentation;  // v3+
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.name, all);
        v(m.value, all);
        v(m.read_only, all);
        v(m.is_default, upto(0));
        v(m.config_source, since(1));
        v(m.is_sensitive, all);
        v(m.synonyms, since(1));
        v(m.config_type, since(3));
        v(m.documentation, since(3));
      }
      bool operator==(const Config&) const = default;
    };
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.error_code, all);
      v(m.error_message, all);
      v(m.resource_type, all);
      v(m.resource_name, all);
      v(m.configs, all);
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
  bool operator==(const DescribeConfigsResponse&) const = default;
};

struct AlterConfigsRequest {
  struct Resource {
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
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.resource_type, all);
      v(m.resource_name, all);
      v(m.configs, all);
    }
    bool operator==(const Resource&) const = default;
  };

  std::vector<Resource> resources;
  bool validate_only = false;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.resources, all);
    v(m.validate_only, all);
  }
  bool operator==(const AlterConfigsRequest&) const = default;
};

// One resource's outcome; the same shape answers AlterConfigs and IncrementalAlterConfigs.
struct AlterConfigsResourceResponse {
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  int8_t resource_type = 0;
  std::string resource_name;
  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.error_code, all);
    v(m.error_message, all);
    v(m.resource_type, all);
    v(m.resource_name, all);
  }
  bool operator==(const AlterConfigsResourceResponse&) const = default;
};

struct AlterConfigsResponse {
  int32_t throttle_time_ms = 0;
  std::vector<AlterConfigsResourceResponse> responses;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, all);
    v(m.responses, all);
  }
  bool operator==(const AlterConfigsResponse&) const = default;
};

struct IncrementalAlterConfigsRequest {
  struct Resource {
    struct Config {
      std::string name;
      int8_t config_operation = 0;
      std::optional<std::string> value;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.name, all);
        v(m.config_operation, all);
        v(m.value, all);
      }
      bool operator==(const Config&) const = default;
    };
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.resource_type, all);
      v(m.resource_name, all);
      v(m.configs, all);
    }
    bool operator==(const Resource&) const = default;
  };

  std::vector<Resource> resources;
  bool validate_only = false;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.resources, all);
    v(m.validate_only, all);
  }
  bool operator==(const IncrementalAlterConfigsRequest&) const = default;
};

struct IncrementalAlterConfigsResponse {
  int32_t throttle_time_ms = 0;
  std::vector<AlterConfigsResourceResponse> responses;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, all);
    v(m.responses, all);
  }
  bool operator==(const IncrementalAlterConfigsResponse&) const = default;
};

}  // namespace ferry::protocol
