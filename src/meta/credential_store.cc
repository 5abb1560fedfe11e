// SCRAM credential rows of meta.db (see credential_store.h).
#include "meta/credential_store.h"

#include "meta/store.h"

namespace ferry::meta {
namespace {

std::string col_blob(const Stmt& s, int i) {
  const void* p = sqlite3_column_blob(s.raw(), i);
  const int n = sqlite3_column_bytes(s.raw(), i);
  if (p == nullptr || n <= 0) return {};
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

}  // namespace

Result<std::vector<ScramCredentialRecord>> read_scram_credentials(Db& db) {
  auto s = db.cached(
      "SELECT user, mechanism, salt, iterations, stored_key, server_key FROM scram_credentials"
      " ORDER BY user, mechanism");
  if (!s) return std::move(s).error();
  std::vector<ScramCredentialRecord> out;
  for (;;) {
    auto row = (*s)->step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    ScramCredentialRecord c;
    c.user = (*s)->col_text(0);
    c.mechanism = (*s)->col_text(1);
    c.salt = col_blob(**s, 2);
    c.iterations = static_cast<int32_t>((*s)->col_int(3));
    c.stored_key = col_blob(**s, 4);
    c.server_key = col_blob(**s, 5);
    out.push_back(std::move(c));
  }
  return out;
}

Status apply_put_scram_credential(Db& db, const ScramCredentialRecord& c) {
  auto s = db.cached(
      "INSERT OR REPLACE INTO scram_credentials (user, mechanism, salt, iterations, stored_key,"
      " server_key) VALUES (?, ?, ?, ?, ?, ?)");
  if (!s) return std::move(s).error();
  (*s)->bind(1, c.user).bind(2, c.mechanism).bind_blob(3, c.salt).bind(4, c.iterations);
  return (*s)->bind_blob(5, c.stored_key).bind_blob(6, c.server_key).run();
}

Status apply_delete_scram_credential(Db& db, const std::string& user,
                                     const std::string& mechanism) {
  if (mechanism.empty()) {
    auto s = db.cached("DELETE FROM scram_credentials WHERE user = ?");
    if (!s) return std::move(s).error();
    FERRY_TRY((*s)->bind(1, user).run());
  } else {
    auto s = db.cached("DELETE FROM scram_credentials WHERE user = ? AND mechanism = ?");
    if (!s) return std::move(s).error();
    FERRY_TRY((*s)->bind(1, user).bind(2, mechanism).run());
  }
  if (sqlite3_changes(db.raw()) == 0) {
    return Error(Errc::not_found,
                 "no " + (mechanism.empty() ? "credential" : mechanism + " credential") +
                     " for user " + user);
  }
  return {};
}

Result<std::vector<ScramCredentialRecord>> MetaStore::list_scram_credentials() {
  return read_scram_credentials(reader_);
}

}  // namespace ferry::meta
