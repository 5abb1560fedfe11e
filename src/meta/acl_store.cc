// ACL rows of meta.db. See acl_store.h.
#include "meta/acl_store.h"

#include <utility>

namespace ferry::meta {
namespace {

Stmt& bind_acl(Stmt& s, const AclRecord& a) {
  return s.bind(1, int64_t{a.resource_type})
      .bind(2, a.resource_name)
      .bind(3, int64_t{a.pattern_type})
      .bind(4, a.principal)
      .bind(5, a.host)
      .bind(6, int64_t{a.operation})
      .bind(7, int64_t{a.permission});
}

Status run_acl(Db& db, const char* sql, const AclRecord& a) {
  auto s = db.cached(sql);
  if (!s) return std::move(s).error();
  return bind_acl(**s, a).run();
}

}  // namespace

Result<std::vector<AclRecord>> load_acls(MetaStore& store) {
  auto s = store.reader().cached(
      "SELECT resource_type, resource_name, pattern_type, principal, host, operation, "
      "permission FROM acls ORDER BY 1, 2, 3, 4, 5, 6, 7");
  if (!s) return std::move(s).error();
  std::vector<AclRecord> out;
  for (;;) {
    auto row = (*s)->step();
    if (!row) return std::move(row).error();
    if (!*row) return out;
    AclRecord a;
    a.resource_type = static_cast<int8_t>((*s)->col_int(0));
    a.resource_name = (*s)->col_text(1);
    a.pattern_type = static_cast<int8_t>((*s)->col_int(2));
    a.principal = (*s)->col_text(3);
    a.host = (*s)->col_text(4);
    a.operation = static_cast<int8_t>((*s)->col_int(5));
    a.permission = static_cast<int8_t>((*s)->col_int(6));
    out.push_back(std::move(a));
  }
}

Mutation put_acl(AclRecord acl) {
  return Mutation::apply([acl = std::move(acl)](Db& db) {
    return run_acl(db,
                   "INSERT OR IGNORE INTO acls (resource_type, resource_name, pattern_type, "
                   "principal, host, operation, permission) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   acl);
  });
}

Mutation delete_acl(AclRecord acl) {
  return Mutation::apply([acl = std::move(acl)](Db& db) {
    return run_acl(db,
                   "DELETE FROM acls WHERE resource_type = ? AND resource_name = ? AND "
                   "pattern_type = ? AND principal = ? AND host = ? AND operation = ? AND "
                   "permission = ?",
                   acl);
  });
}

}  // namespace ferry::meta
