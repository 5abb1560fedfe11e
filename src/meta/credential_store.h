// SCRAM credentials in meta.db (table scram_credentials, schema version 4): per user and
// mechanism the salt, the iteration count, StoredKey and ServerKey of RFC 5802, never the
// password. The broker loads them all at start (list_scram_credentials()) and keeps them in
// memory; changes go through MetaStore::submit() like every other write (Mutation::
// PutScramCredential / DeleteScramCredential), applied by the functions below on the writer
// connection inside the commit job.
//
// Threading: read_scram_credentials() runs on whichever thread owns `db` (the loop for the
// store's reader); the apply functions run where MetaStore commits (thread pool or inline).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "meta/sqlite.h"

namespace ferry::meta {

// Kafka's mechanism names: "SCRAM-SHA-256", "SCRAM-SHA-512".
struct ScramCredentialRecord {
  std::string user;
  std::string mechanism;
  std::string salt;  // raw bytes
  int32_t iterations = 0;
  std::string stored_key;  // raw bytes
  std::string server_key;  // raw bytes
  bool operator==(const ScramCredentialRecord&) const = default;
};

// Every credential, ordered by user then mechanism.
Result<std::vector<ScramCredentialRecord>> read_scram_credentials(Db& db);
// Inserts or replaces the (user, mechanism) row.
Status apply_put_scram_credential(Db& db, const ScramCredentialRecord& c);
// Deletes the (user, mechanism) row, or every row of `user` when `mechanism` is empty;
// not_found when nothing matched.
Status apply_delete_scram_credential(Db& db, const std::string& user, const std::string& mechanism);

}  // namespace ferry::meta
