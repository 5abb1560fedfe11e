// A SQLite VFS over a platform::FileSystem, so meta.db's reads, writes, fsyncs and directory
// fsyncs go through the same seam as the partition logs (and a fault-injecting FileSystem in
// power-loss tests sees SQLite's syncs, and drops what SQLite did not sync).
//
// Locks and the WAL index (the -shm memory) are kept in this process's memory: every
// connection to a database reached through such a VFS must live in this process, which holds
// for ferry (one broker per data directory). The real file system is not wrapped: its
// connections use SQLite's default VFS with its usual file locks and -shm file, through the
// pass-through VFS that counts the bytes written (counting_vfs.h).
#pragma once

#include "common/result.h"
#include "platform/file_system.h"

namespace ferry::meta {

// The name of the VFS to open databases on `fs` with: the counting pass-through over SQLite's
// default VFS for platform::real_fs(), else a VFS registered on first use for `fs` and kept for the
// life of the process (`fs` must stay alive as long as connections use it). Thread-safe.
Result<const char*> vfs_for(platform::FileSystem& fs);

}  // namespace ferry::meta
