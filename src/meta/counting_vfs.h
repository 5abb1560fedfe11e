// A pass-through SQLite VFS over SQLite's default VFS that counts the bytes SQLite writes to
// meta.db and its WAL for flash accounting (common/flash_accounting.h: meta_db, meta_wal). Every
// call goes to the default VFS unchanged (its file locks and -shm file included); only xWrite's
// successful byte counts are added. Used for databases on the real file system (sqlite_vfs.h
// wraps other FileSystems and counts in its own xWrite).
#pragma once

#include "common/result.h"

namespace ferry::meta {

// The name of the counting VFS, registered (not as the default) on first use. Thread-safe.
Result<const char*> counting_vfs_name();

}  // namespace ferry::meta
