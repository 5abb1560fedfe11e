// DescribeUserScramCredentials (key 50) and AlterUserScramCredentials (key 51): SCRAM users
// managed over the wire, as Kafka's AdminClient and kafka-configs.sh do. Version 0 only, and
// flexible from it (compact strings, arrays and bytes, tag buffers).
//
// Mechanisms travel as Kafka's int8 codes: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512 (0 unknown).
// Describe: the users to describe, or null for every user; per user an error (RESOURCE_NOT_FOUND
// for an unknown one) or its mechanisms with their iteration counts, never keys or salts.
// Alter: deletions (user, mechanism) and upsertions (user, mechanism, iterations, salt, and the
// SaltedPassword, i.e. PBKDF2 of the password computed by the client: the password itself never
// travels); one result per user named.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

// Kafka's ScramMechanism codes.
constexpr int8_t kScramUnknown = 0;
constexpr int8_t kScramSha256 = 1;
constexpr int8_t kScramSha512 = 2;

struct DescribeUserScramCredentialsRequest {
  struct User {
    std::string name;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
    }
    bool operator==(const User&) const = default;
  };
  std::optional<std::vector<User>> users;  // null: every user

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.users, all);
  }
  bool operator==(const DescribeUserScramCredentialsRequest&) const = default;
};

struct DescribeUserScramCredentialsResponse {
  struct CredentialInfo {
    int8_t mechanism = 0;
    int32_t iterations = 0;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.mechanism, all);
      v(m.iterations, all);
    }
    bool operator==(const CredentialInfo&) const = default;
  };
  struct Result {
    std::string user;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::vector<CredentialInfo> credential_infos;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.user, all);
      v(m.error_code, all);
      v(m.error_message, all);
      v(m.credential_infos, all);
    }
    bool operator==(const Result&) const = default;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<Result> results;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, all);
    v(m.error_code, all);
    v(m.error_message, all);
    v(m.results, all);
  }
  bool operator==(const DescribeUserScramCredentialsResponse&) const = default;
};

struct AlterUserScramCredentialsRequest {
  struct Deletion {
    std::string name;
    int8_t mechanism = 0;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.mechanism, all);
    }
    bool operator==(const Deletion&) const = default;
  };
  struct Upsertion {
    std::string name;
    int8_t mechanism = 0;
    int32_t iterations = 0;
    Bytes salt;
    Bytes salted_password;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.mechanism, all);
      v(m.iterations, all);
      v(m.salt, all);
      v(m.salted_password, all);
    }
    bool operator==(const Upsertion&) const = default;
  };
  std::vector<Deletion> deletions;
  std::vector<Upsertion> upsertions;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.deletions, all);
    v(m.upsertions, all);
  }
  bool operator==(const AlterUserScramCredentialsRequest&) const = default;
};

struct AlterUserScramCredentialsResponse {
  struct Result {
    std::string user;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.user, all);
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
  bool operator==(const AlterUserScramCredentialsResponse&) const = default;
};

}  // namespace ferry::protocol
