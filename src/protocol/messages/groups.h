// Consumer groups and committed offsets: FindCoordinator (key 10), JoinGroup (11), Heartbeat
// (12), LeaveGroup (13), SyncGroup (14), OffsetCommit (8), OffsetFetch (9), DescribeGroups (15),
// ListGroups (16), DeleteGroups (42) and OffsetDelete (47).
//
// Protocol metadata and assignments (JoinGroup, SyncGroup, DescribeGroups) are opaque bytes the
// coordinator stores and hands back without parsing.
#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/schema.h"

namespace ferry::protocol {

struct FindCoordinatorRequest {
  std::string key;
  int8_t key_type = 0;  // v1+: 0 = group, 1 = transaction

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.key, all);
    v(m.key_type, since(1));
  }
  bool operator==(const FindCoordinatorRequest&) const = default;
};

struct FindCoordinatorResponse {
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::optional<std::string> error_message;  // v1+
  int32_t node_id = 0;
  std::string host;
  int32_t port = 0;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(1));
    v(m.error_code, all);
    v(m.error_message, since(1));
    v(m.node_id, all);
    v(m.host, all);
    v(m.port, all);
  }
  bool operator==(const FindCoordinatorResponse&) const = default;
};

struct JoinGroupRequest {
  struct Protocol {
    std::string name;
    Bytes metadata;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.metadata, all);
    }
    bool operator==(const Protocol&) const = default;
  };

  std::string group_id;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = -1;  // v1+
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v5+
  std::string protocol_type;
  std::vector<Protocol> protocols;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.group_id, all);
    v(m.session_timeout_ms, all);
    v(m.rebalance_timeout_ms, since(1));
    v(m.member_id, all);
    v(m.group_instance_id, since(5));
    v(m.protocol_type, all);
    v(m.protocols, all);
  }
  bool operator==(const JoinGroupRequest&) const = default;
};

struct JoinGroupResponse {
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v5+
    Bytes metadata;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.member_id, all);
      v(m.group_instance_id, since(5));
      v(m.metadata, all);
    }
    bool operator==(const Member&) const = default;
  };

  int32_t throttle_time_ms = 0;  // v2+
  int16_t error_code = 0;
  int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<Member> members;  // filled for the leader only

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(2));
    v(m.error_code, all);
    v(m.generation_id, all);
    v(m.protocol_name, all);
    v(m.leader, all);
    v(m.member_id, all);
    v(m.members, all);
  }
  bool operator==(const JoinGroupResponse&) const = default;
};

struct HeartbeatRequest {
  std::string group_id;
  int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.group_id, all);
    v(m.generation_id, all);
    v(m.member_id, all);
    v(m.group_instance_id, since(3));
  }
  bool operator==(const HeartbeatRequest&) const = default;
};

struct HeartbeatResponse {
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(1));
    v(m.error_code, all);
  }
  bool operator==(const HeartbeatResponse&) const = default;
};

struct LeaveGroupRequest {
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.member_id, all);
      v(m.group_instance_id, all);
    }
    bool operator==(const Member&) const = default;
  };

  std::string group_id;
  std::string member_id;        // v0-2
  std::vector<Member> members;  // v3+ (batch leave)

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.group_id, all);
    v(m.member_id, upto(2));
    v(m.members, since(3));
  }
  bool operator==(const LeaveGroupRequest&) const = default;
};

struct LeaveGroupResponse {
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    int16_t error_code = 0;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.member_id, all);
      v(m.group_instance_id, all);
      v(m.error_code, all);
    }
    bool operator==(const Member&) const = default;
  };

  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::vector<Member> members;  // v3+

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(1));
    v(m.error_code, all);
    v(m.members, since(3));
  }
  bool operator==(const LeaveGroupResponse&) const = default;
};

struct SyncGroupRequest {
  struct Assignment {
    std::string member_id;
    Bytes assignment;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.member_id, all);
      v(m.assignment, all);
    }
    bool operator==(const Assignment&) const = default;
  };

  std::string group_id;
  int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
  std::vector<Assignment> assignments;           // sent by the leader only

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.group_id, all);
    v(m.generation_id, all);
    v(m.member_id, all);
    v(m.group_instance_id, since(3));
    v(m.assignments, all);
  }
  bool operator==(const SyncGroupRequest&) const = default;
};

struct SyncGroupResponse {
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  Bytes assignment;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(1));
    v(m.error_code, all);
    v(m.assignment, all);
  }
  bool operator==(const SyncGroupResponse&) const = default;
};

struct OffsetCommitRequest {
  struct Topic {
    struct Partition {
      int32_t partition_index = 0;
      int64_t committed_offset = 0;
      int32_t committed_leader_epoch = -1;  // v6+
      int64_t commit_timestamp = -1;        // v1 only
      std::optional<std::string> committed_metadata;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.partition_index, all);
        v(m.committed_offset, all);
        v(m.committed_leader_epoch, since(6));
        v(m.commit_timestamp, range(1, 1));
        v(m.committed_metadata, all);
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

  std::string group_id;
  int32_t generation_id_or_member_epoch = -1;    // v1+
  std::string member_id;                         // v1+
  std::optional<std::string> group_instance_id;  // v7+
  int64_t retention_time_ms = -1;                // v2-4
  std::vector<Topic> topics;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.group_id, all);
    v(m.generation_id_or_member_epoch, since(1));
    v(m.member_id, since(1));
    v(m.group_instance_id, since(7));
    v(m.retention_time_ms, range(2, 4));
    v(m.topics, all);
  }
  bool operator==(const OffsetCommitRequest&) const = default;
};

struct OffsetCommitResponse {
  struct Topic {
    struct Partition {
      int32_t partition_index = 0;
      int16_t error_code = 0;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.partition_index, all);
        v(m.error_code, all);
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

  int32_t throttle_time_ms = 0;  // v3+
  std::vector<Topic> topics;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(3));
    v(m.topics, all);
  }
  bool operator==(const OffsetCommitResponse&) const = default;
};

struct OffsetFetchRequest {
  struct Topic {
    std::string name;
    std::vector<int32_t> partition_indexes;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.name, all);
      v(m.partition_indexes, all);
    }
    bool operator==(const Topic&) const = default;
  };

  std::string group_id;
  // Null (v2+) asks for every partition the group has committed offsets for.
  std::optional<std::vector<Topic>> topics = std::vector<Topic>{};

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.group_id, all);
    v(m.topics, all);
  }
  bool operator==(const OffsetFetchRequest&) const = default;
};

struct OffsetFetchResponse {
  struct Topic {
    struct Partition {
      int32_t partition_index = 0;
      int64_t committed_offset = -1;
      int32_t committed_leader_epoch = -1;  // v5+
      std::optional<std::string> metadata;
      int16_t error_code = 0;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.partition_index, all);
        v(m.committed_offset, all);
        v(m.committed_leader_epoch, since(5));
        v(m.metadata, all);
        v(m.error_code, all);
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

  int32_t throttle_time_ms = 0;  // v3+
  std::vector<Topic> topics;
  int16_t error_code = 0;  // v2+: a group-level error

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(3));
    v(m.topics, all);
    v(m.error_code, since(2));
  }
  bool operator==(const OffsetFetchResponse&) const = default;
};

struct DescribeGroupsRequest {
  std::vector<std::string> groups;
  bool include_authorized_operations = false;  // v3+

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.groups, all);
    v(m.include_authorized_operations, since(3));
  }
  bool operator==(const DescribeGroupsRequest&) const = default;
};

struct DescribeGroupsResponse {
  struct Group {
    struct Member {
      std::string member_id;
      std::optional<std::string> group_instance_id;  // v4+
      std::string client_id;
      std::string client_host;
      Bytes member_metadata;
      Bytes member_assignment;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.member_id, all);
        v(m.group_instance_id, since(4));
        v(m.client_id, all);
        v(m.client_host, all);
        v(m.member_metadata, all);
        v(m.member_assignment, all);
      }
      bool operator==(const Member&) const = default;
    };
    int16_t error_code = 0;
    std::string group_id;
    std::string group_state;
    std::string protocol_type;
    std::string protocol_data;  // the chosen protocol's name
    std::vector<Member> members;
    int32_t authorized_operations = INT32_MIN;  // v3+
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.error_code, all);
      v(m.group_id, all);
      v(m.group_state, all);
      v(m.protocol_type, all);
      v(m.protocol_data, all);
      v(m.members, all);
      v(m.authorized_operations, since(3));
    }
    bool operator==(const Group&) const = default;
  };

  int32_t throttle_time_ms = 0;  // v1+
  std::vector<Group> groups;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(1));
    v(m.groups, all);
  }
  bool operator==(const DescribeGroupsResponse&) const = default;
};

// No fields before v4 (states_filter).
struct ListGroupsRequest {
  template <class V, class M>
  static void fields(V&, M&) {}
  bool operator==(const ListGroupsRequest&) const = default;
};

struct ListGroupsResponse {
  struct Group {
    std::string group_id;
    std::string protocol_type;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.group_id, all);
      v(m.protocol_type, all);
    }
    bool operator==(const Group&) const = default;
  };

  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::vector<Group> groups;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, since(1));
    v(m.error_code, all);
    v(m.groups, all);
  }
  bool operator==(const ListGroupsResponse&) const = default;
};

struct DeleteGroupsRequest {
  std::vector<std::string> groups_names;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.groups_names, all);
  }
  bool operator==(const DeleteGroupsRequest&) const = default;
};

struct DeleteGroupsResponse {
  struct Result {
    std::string group_id;
    int16_t error_code = 0;
    template <class V, class M>
    static void fields(V& v, M& m) {
      v(m.group_id, all);
      v(m.error_code, all);
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
  bool operator==(const DeleteGroupsResponse&) const = default;
};

struct OffsetDeleteRequest {
  struct Topic {
    struct Partition {
      int32_t partition_index = 0;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.partition_index, all);
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

  std::string group_id;
  std::vector<Topic> topics;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.group_id, all);
    v(m.topics, all);
  }
  bool operator==(const OffsetDeleteRequest&) const = default;
};

struct OffsetDeleteResponse {
  struct Topic {
    struct Partition {
      int32_t partition_index = 0;
      int16_t error_code = 0;
      template <class V, class M>
      static void fields(V& v, M& m) {
        v(m.partition_index, all);
        v(m.error_code, all);
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

  int16_t error_code = 0;
  int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.error_code, all);
    v(m.throttle_time_ms, all);
    v(m.topics, all);
  }
  bool operator==(const OffsetDeleteResponse&) const = default;
};

}  // namespace ferry::protocol
