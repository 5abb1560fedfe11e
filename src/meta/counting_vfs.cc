// The flash-accounting pass-through VFS. See counting_vfs.h.
#include "meta/counting_vfs.h"

#include <sqlite3.h>

#include <mutex>

#include "common/flash_accounting.h"

namespace ferry::meta {
namespace {

sqlite3_vfs* g_real = nullptr;  // SQLite's default VFS, set once before registration
sqlite3_vfs g_vfs{};

// Our sqlite3_file; the default VFS's own file object follows it in the same allocation.
struct CountingFile {
  sqlite3_file base;
  sqlite3_file* real;
  flash::WriteKind kind;
};

sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<CountingFile*>(f)->real; }
const sqlite3_io_methods& io(sqlite3_file* f) { return *real_of(f)->pMethods; }

int c_close(sqlite3_file* f) { return io(f).xClose(real_of(f)); }
int c_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 at) {
  return io(f).xRead(real_of(f), buf, n, at);
}
int c_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 at) {
  const int rc = io(f).xWrite(real_of(f), buf, n, at);
  if (rc == SQLITE_OK) {
    flash::count_written(reinterpret_cast<CountingFile*>(f)->kind, static_cast<uint64_t>(n));
  }
  return rc;
}
int c_truncate(sqlite3_file* f, sqlite3_int64 size) { return io(f).xTruncate(real_of(f), size); }
int c_sync(sqlite3_file* f, int flags) { return io(f).xSync(real_of(f), flags); }
int c_file_size(sqlite3_file* f, sqlite3_int64* size) { return io(f).xFileSize(real_of(f), size); }
int c_lock(sqlite3_file* f, int level) { return io(f).xLock(real_of(f), level); }
int c_unlock(sqlite3_file* f, int level) { return io(f).xUnlock(real_of(f), level); }
int c_check_reserved(sqlite3_file* f, int* out) {
  return io(f).xCheckReservedLock(real_of(f), out);
}
int c_file_control(sqlite3_file* f, int op, void* arg) {
  return io(f).xFileControl(real_of(f), op, arg);
}
int c_sector_size(sqlite3_file* f) { return io(f).xSectorSize(real_of(f)); }
int c_device(sqlite3_file* f) { return io(f).xDeviceCharacteristics(real_of(f)); }
int c_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  if (io(f).iVersion < 2) return SQLITE_IOERR;
  return io(f).xShmMap(real_of(f), region, size, extend, out);
}
int c_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  if (io(f).iVersion < 2) return SQLITE_IOERR;
  return io(f).xShmLock(real_of(f), offset, n, flags);
}
void c_shm_barrier(sqlite3_file* f) {
  if (io(f).iVersion >= 2) io(f).xShmBarrier(real_of(f));
}
int c_shm_unmap(sqlite3_file* f, int del) {
  if (io(f).iVersion < 2) return SQLITE_OK;
  return io(f).xShmUnmap(real_of(f), del);
}
int c_fetch(sqlite3_file* f, sqlite3_int64 at, int n, void** out) {
  if (io(f).iVersion < 3) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return io(f).xFetch(real_of(f), at, n, out);
}
int c_unfetch(sqlite3_file* f, sqlite3_int64 at, void* p) {
  if (io(f).iVersion < 3) return SQLITE_OK;
  return io(f).xUnfetch(real_of(f), at, p);
}

const sqlite3_io_methods kMethods = {
    3,           c_close,   c_read,     c_write,          c_truncate,     c_sync,
    c_file_size, c_lock,    c_unlock,   c_check_reserved, c_file_control, c_sector_size,
    c_device,    c_shm_map, c_shm_lock, c_shm_barrier,    c_shm_unmap,    c_fetch,
    c_unfetch,
};

int c_open(sqlite3_vfs*, const char* name, sqlite3_file* out, int flags, int* out_flags) {
  auto* f = reinterpret_cast<CountingFile*>(out);
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->kind = (flags & SQLITE_OPEN_WAL) ? flash::WriteKind::meta_wal : flash::WriteKind::meta_db;
  f->real->pMethods = nullptr;
  const int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set: set it exactly when the real file is open.
  out->pMethods = f->real->pMethods != nullptr ? &kMethods : nullptr;
  return rc;
}

}  // namespace

Result<const char*> counting_vfs_name() {
  static std::once_flag once;
  static int rc = SQLITE_OK;
  std::call_once(once, [] {
    g_real = sqlite3_vfs_find(nullptr);
    if (g_real == nullptr) {
      rc = SQLITE_ERROR;
      return;
    }
    // Every other entry point is the default VFS's own; they do not use pAppData (only its
    // xOpen does, called above with the default VFS itself).
    g_vfs = *g_real;
    g_vfs.pNext = nullptr;
    g_vfs.zName = "ferry-counting";
    g_vfs.szOsFile = static_cast<int>(sizeof(CountingFile)) + g_real->szOsFile;
    g_vfs.xOpen = c_open;
    rc = sqlite3_vfs_register(&g_vfs, 0);
  });
  if (rc != SQLITE_OK) return Error(Errc::io, "sqlite: cannot register the counting VFS");
  return g_vfs.zName;
}

}  // namespace ferry::meta
