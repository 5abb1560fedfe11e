// The metadata schema as an ordered list of forward migrations. `PRAGMA user_version` records
// how many have been applied; a database with a higher number was written by a newer ferry and
// is refused rather than misread.
#pragma once

#include <span>

#include "common/result.h"
#include "meta/sqlite.h"

namespace ferry::meta {

struct Migration {
  int version;      // user_version after this step; ascending (gaps allowed: only compared)
  const char* sql;  // run in one transaction with the user_version update
};

// The schema this build writes.
std::span<const Migration> builtin_migrations();

// Brings `db` up to the newest version in `migrations` (each step in its own transaction).
// Returns the resulting version; newer_version if the database is ahead of `migrations`.
Result<int> migrate(Db& db, std::span<const Migration> migrations);

}  // namespace ferry::meta
