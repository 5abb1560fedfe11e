// SQLite wrappers (see sqlite.h).
#include "meta/sqlite.h"

#include "meta/sqlite_vfs.h"

namespace ferry::meta {
namespace {
Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int primary = rc & 0xFF;
  Errc code = (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) ? Errc::corrupt
              : primary == SQLITE_FULL                                ? Errc::no_space
              : primary == SQLITE_CONSTRAINT                          ? Errc::invalid_argument
                                                                      : Errc::io;
  return Error(code, std::move(msg));
}
}  // namespace

Result<bool> Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(s_);
  return sqlite_error(db, sqlite3_extended_errcode(db), sqlite3_sql(s_));
}

Status Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return std::move(r).error();
    if (!*r) return {};
  }
}

std::string Stmt::col_text(int i) const {
  const auto* p = sqlite3_column_blob(s_, i);
  int n = sqlite3_column_bytes(s_, i);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

Db::~Db() { close(); }

void Db::close() {
  cache_.clear();  // statements must be finalized before the connection closes
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

Result<Db> Db::open(const std::string& path, platform::FileSystem& fs) {
  auto vfs = vfs_for(fs);
  if (!vfs) return std::move(vfs).error();
  Db db;
  db.path_ = path;
  int rc = sqlite3_open_v2(path.c_str(), &db.db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, *vfs);
  if (rc != SQLITE_OK) return sqlite_error(db.db_, rc, "open " + path);
  sqlite3_extended_result_codes(db.db_, 1);
  sqlite3_busy_timeout(db.db_, 5000);
  return db;
}

Result<Db> Db::open_read_only(const std::string& path) {
  Db db;
  db.path_ = path;
  int rc =
      sqlite3_open_v2(path.c_str(), &db.db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db.db_, rc, "open " + path);
  sqlite3_extended_result_codes(db.db_, 1);
  sqlite3_busy_timeout(db.db_, 5000);
  return db;
}

Status Db::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return sqlite_error(nullptr, rc, path_ + ": " + msg);
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, path_ + ": prepare");
  return Stmt(s);
}

Result<StmtUse> Db::cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto s = prepare(sql);
    if (!s) return std::move(s).error();
    it = cache_.emplace(sql, std::make_unique<Stmt>(std::move(s).value())).first;
  }
  return StmtUse(it->second.get());
}

Result<int64_t> Db::query_int(const char* sql) {
  auto s = prepare(sql);
  if (!s) return std::move(s).error();
  auto row = s->step();
  if (!row) return std::move(row).error();
  if (!*row) return Error(Errc::not_found, std::string("no row: ") + sql);
  return s->col_int(0);
}

Error Db::error(std::string_view what) const {
  return sqlite_error(db_, sqlite3_extended_errcode(db_), what);
}

}  // namespace ferry::meta
