// RAII wrappers for SQLite connections and prepared statements, with errors as values.
//
// A Db or Stmt is used by one thread at a time (the store hands its writer connection to the
// thread pool only while no loop code touches it).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "platform/file_system.h"

namespace ferry::meta {

class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Resets for reuse and clears bindings.
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW -> true, SQLITE_DONE -> false, anything else -> error.
  Result<bool> step();
  // Steps to completion (statements without rows).
  Status run();

  int64_t col_int(int i) const { return sqlite3_column_int64(s_, i); }
  std::string col_text(int i) const;
  sqlite3_stmt* raw() const { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// A cached statement in use: resets it when the use ends, so a statement stopped after its
// first row does not keep a read transaction (and a stale snapshot) open on the connection.
class StmtUse {
 public:
  explicit StmtUse(Stmt* s) : s_(s) {}
  ~StmtUse() {
    if (s_) s_->reset();
  }
  StmtUse(StmtUse&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;
  Stmt* operator->() const { return s_; }
  Stmt& operator*() const { return *s_; }

 private:
  Stmt* s_;
};

class Db {
 public:
  Db() = default;
  ~Db();
  Db(Db&& o) noexcept : db_(o.db_), path_(std::move(o.path_)), cache_(std::move(o.cache_)) {
    o.db_ = nullptr;
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens (creating) the database at `path` on `fs` (through a VFS over it, see sqlite_vfs.h,
  // unless it is the real file system).
  static Result<Db> open(const std::string& path, platform::FileSystem& fs = platform::real_fs());
  // Opens an existing database on the real file system for reading only (operator commands
  // reading a running broker's meta.db; WAL readers do not block its writer). Never creates the
  // file, never migrates it.
  static Result<Db> open_read_only(const std::string& path);
  // Finalizes cached statements and closes the connection (also done by the destructor).
  void close();

  // Runs SQL without results (may hold several statements).
  Status exec(const char* sql);
  // Prepares a new statement.
  Result<Stmt> prepare(std::string_view sql);
  // A statement prepared once per connection and reused; reset when the returned use ends.
  Result<StmtUse> cached(const char* sql);
  Result<int64_t> query_int(const char* sql);

  Error error(std::string_view what) const;
  sqlite3* raw() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  std::unordered_map<const char*, std::unique_ptr<Stmt>> cache_;
};

}  // namespace ferry::meta
