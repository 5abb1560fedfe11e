// ACLs in meta.db (table `acls`, schema version 5; docs/metadata.md). A row is one ACL
// binding with Kafka's wire codes for its enums; the broker's authorizer (broker/authz/) holds
// them in memory and is the only reader at run time, so the table is read once at start-up.
//
// Threading: load_acls() reads on the loop thread (the store's read connection); the mutations
// are submitted like every other MetaStore write and so commit on the thread pool, grouped with
// whatever else is queued.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "meta/store.h"

namespace ferry::meta {

struct AclRecord {
  int8_t resource_type = 0;
  std::string resource_name;
  int8_t pattern_type = 0;
  std::string principal;
  std::string host;
  int8_t operation = 0;
  int8_t permission = 0;
  bool operator==(const AclRecord&) const = default;
};

// Every stored ACL, in primary-key order.
Result<std::vector<AclRecord>> load_acls(MetaStore& store);
// Stores an ACL; storing one that exists changes nothing.
Mutation put_acl(AclRecord acl);
// Deletes an ACL; deleting one that does not exist changes nothing.
Mutation delete_acl(AclRecord acl);

}  // namespace ferry::meta
