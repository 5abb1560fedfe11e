// ApiVersions (key 18). Its supported versions are in protocol/messages.h, like every API's.
//
// The response to every version is read by the client with response header v0 (api.h), so that
// a client can parse the reply even when the broker rejects its version with UNSUPPORTED_VERSION.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

struct ApiVersionsRequest {
  std::string client_software_name;     // v3+
  std::string client_software_version;  // v3+

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.client_software_name, since(3));
    v(m.client_software_version, since(3));
  }
  bool operator==(const ApiVersionsRequest&) const = default;
};

struct ApiVersionsResponse {
  struct ApiVersion {
    int16_t api_key = 0;
    int16_t min_version = 0;
    int16_t max_version = 0;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.api_key, all);
      v(m.min_version, all);
      v(m.max_version, all);
    }
    bool operator==(const ApiVersion&) const = default;
  };
  struct SupportedFeatureKey {
    std::string name;
    int16_t min_version = 0;
    int16_t max_version = 0;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.min_version, all);
      v(m.max_version, all);
    }
    bool operator==(const SupportedFeatureKey&) const = default;
  };
  struct FinalizedFeatureKey {
    std::string name;
    int16_t max_version_level = 0;
    int16_t min_version_level = 0;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.max_version_level, all);
      v(m.min_version_level, all);
    }
    bool operator==(const FinalizedFeatureKey&) const = default;
  };

  int16_t error_code = 0;
  std::vector<ApiVersion> api_keys;
  int32_t throttle_time_ms = 0;  // v1+
  // Tagged fields of v3+, sent only when set.
  std::optional<std::vector<SupportedFeatureKey>> supported_features;  // tag 0
  std::optional<int64_t> finalized_features_epoch;                     // tag 1 (Kafka: -1)
  std::optional<std::vector<FinalizedFeatureKey>> finalized_features;  // tag 2
  std::optional<bool> zk_migration_ready;                              // tag 3

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.error_code, all);
    v(m.api_keys, all);
    v(m.throttle_time_ms, since(1));
    v.tagged(0, m.supported_features, since(3));
    v.tagged(1, m.finalized_features_epoch, since(3));
    v.tagged(2, m.finalized_features, since(3));
    v.tagged(3, m.zk_migration_ready, since(3));
  }
  bool operator==(const ApiVersionsResponse&) const = default;
};

}  // namespace ferry::protocol
