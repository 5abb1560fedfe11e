// SQLite VFS over platform::FileSystem, with in-process locks and WAL index (sqlite_vfs.h).
#include "meta/sqlite_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "common/flash_accounting.h"
#include "meta/counting_vfs.h"

namespace ferry::meta {
namespace {

using platform::FileSystem;

constexpr int kShmSlots = SQLITE_SHM_NLOCK;

// Lock and WAL-index state of one database path, shared by every connection to it.
struct PathState {
  int opens = 0;  // open files of this path through the VFS
  // Database file locks (SQLite's SHARED / RESERVED / PENDING / EXCLUSIVE levels).
  int shared = 0;
  const void* reserved = nullptr;
  const void* pending = nullptr;
  const void* exclusive = nullptr;
  // The WAL index: regions of shared memory, and its locks.
  int shm_refs = 0;
  std::vector<std::unique_ptr<char[]>> regions;
  int shm_shared[kShmSlots] = {};
  const void* shm_exclusive[kShmSlots] = {};
};

std::mutex g_mu;  // guards every PathState and the registries below
// Keyed by file system, its incarnation (a simulated reboot starts afresh) and path.
using PathKey = std::tuple<const FileSystem*, uint64_t, std::string>;
std::map<PathKey, std::shared_ptr<PathState>> g_paths;

struct FsVfs {
  sqlite3_vfs vfs{};
  FileSystem* fs = nullptr;
  sqlite3_vfs* fallback = nullptr;  // SQLite's default VFS, for temp files, time and randomness
  std::string name;
};
std::map<const FileSystem*, std::unique_ptr<FsVfs>> g_vfs;

// One open file. `base` must come first: SQLite hands us a sqlite3_file*.
struct Impl {
  FsVfs* vfs = nullptr;
  platform::File file;
  std::string path;
  uint64_t incarnation = 0;
  std::shared_ptr<PathState> state;
  int level = SQLITE_LOCK_NONE;
  bool dir_sync_pending = false;  // its name becomes durable at this open file's first sync
  flash::WriteKind kind = flash::WriteKind::meta_db;  // flash accounting of its writes
  bool shm_mapped = false;
  uint16_t shm_shared_mask = 0;
  uint16_t shm_exclusive_mask = 0;
};
struct VfsFile {
  sqlite3_file base;
  Impl* impl;
};

Impl& impl_of(sqlite3_file* f) { return *reinterpret_cast<VfsFile*>(f)->impl; }

int x_close(sqlite3_file* f) {
  Impl* impl = reinterpret_cast<VfsFile*>(f)->impl;
  {
    std::lock_guard lock(g_mu);
    PathState& s = *impl->state;
    if (impl->level >= SQLITE_LOCK_SHARED) --s.shared;
    if (s.reserved == impl) s.reserved = nullptr;
    if (s.pending == impl) s.pending = nullptr;
    if (s.exclusive == impl) s.exclusive = nullptr;
    if (--s.opens == 0 && s.shm_refs == 0)
      g_paths.erase({impl->vfs->fs, impl->incarnation, impl->path});
  }
  (void)impl->file.close();
  delete impl;
  reinterpret_cast<VfsFile*>(f)->impl = nullptr;
  return SQLITE_OK;
}

int x_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  auto n = impl_of(f).file.pread_some({static_cast<std::byte*>(buf), static_cast<size_t>(amount)},
                                      static_cast<uint64_t>(offset));
  if (!n) return SQLITE_IOERR_READ;
  if (*n < static_cast<size_t>(amount)) {
    std::memset(static_cast<char*>(buf) + *n, 0, static_cast<size_t>(amount) - *n);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int x_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  auto st =
      impl_of(f).file.pwrite_all({static_cast<const std::byte*>(buf), static_cast<size_t>(amount)},
                                 static_cast<uint64_t>(offset));
  if (st) {
    flash::count_written(impl_of(f).kind, static_cast<uint64_t>(amount));
    return SQLITE_OK;
  }
  return st.error().code() == Errc::no_space ? SQLITE_FULL : SQLITE_IOERR_WRITE;
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return impl_of(f).file.truncate(static_cast<uint64_t>(size)) ? SQLITE_OK : SQLITE_IOERR_TRUNCATE;
}

int x_sync(sqlite3_file* f, int flags) {
  Impl& impl = impl_of(f);
  auto st = (flags & SQLITE_SYNC_DATAONLY) ? impl.file.datasync() : impl.file.sync();
  if (!st) return SQLITE_IOERR_FSYNC;
  if (impl.dir_sync_pending) {
    if (!impl.vfs->fs->sync_dir(platform::parent_dir(impl.path))) return SQLITE_IOERR_DIR_FSYNC;
    impl.dir_sync_pending = false;
  }
  return SQLITE_OK;
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  auto n = impl_of(f).file.size();
  if (!n) return SQLITE_IOERR_FSTAT;
  *size = static_cast<sqlite3_int64>(*n);
  return SQLITE_OK;
}

// Database file locks, kept in memory (see PathState).
int x_lock(sqlite3_file* f, int level) {
  Impl& impl = impl_of(f);
  std::lock_guard lock(g_mu);
  PathState& s = *impl.state;
  if (impl.level >= level) return SQLITE_OK;
  const void* me = &impl;
  if (level == SQLITE_LOCK_SHARED) {
    if ((s.pending && s.pending != me) || (s.exclusive && s.exclusive != me)) return SQLITE_BUSY;
    ++s.shared;
    impl.level = SQLITE_LOCK_SHARED;
    return SQLITE_OK;
  }
  if (level == SQLITE_LOCK_RESERVED) {
    if (s.reserved && s.reserved != me) return SQLITE_BUSY;
    s.reserved = me;
    impl.level = SQLITE_LOCK_RESERVED;
    return SQLITE_OK;
  }
  // EXCLUSIVE (PENDING is only ever taken on the way to it).
  if (s.pending && s.pending != me) return SQLITE_BUSY;
  s.pending = me;
  impl.level = SQLITE_LOCK_PENDING;
  if (s.shared > 1 || (s.exclusive && s.exclusive != me)) return SQLITE_BUSY;
  s.exclusive = me;
  impl.level = SQLITE_LOCK_EXCLUSIVE;
  return SQLITE_OK;
}

int x_unlock(sqlite3_file* f, int level) {
  Impl& impl = impl_of(f);
  std::lock_guard lock(g_mu);
  PathState& s = *impl.state;
  const void* me = &impl;
  if (impl.level <= level) return SQLITE_OK;
  if (level < SQLITE_LOCK_EXCLUSIVE) {
    if (s.exclusive == me) s.exclusive = nullptr;
    if (s.pending == me) s.pending = nullptr;
  }
  if (level < SQLITE_LOCK_RESERVED && s.reserved == me) s.reserved = nullptr;
  if (level < SQLITE_LOCK_SHARED && impl.level >= SQLITE_LOCK_SHARED) --s.shared;
  impl.level = level;
  return SQLITE_OK;
}

int x_check_reserved(sqlite3_file* f, int* out) {
  Impl& impl = impl_of(f);
  std::lock_guard lock(g_mu);
  PathState& s = *impl.state;
  const void* me = &impl;
  *out = ((s.reserved && s.reserved != me) || (s.pending && s.pending != me) ||
          (s.exclusive && s.exclusive != me))
             ? 1
             : 0;
  return SQLITE_OK;
}

int x_file_control(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int x_sector_size(sqlite3_file*) { return 512; }
int x_device_characteristics(sqlite3_file*) { return SQLITE_IOCAP_POWERSAFE_OVERWRITE; }

// The WAL index in process memory: lost at a crash as a real -shm file's contents may be, which
// SQLite handles by rebuilding it from the WAL.
int x_shm_map(sqlite3_file* f, int region, int region_size, int extend, void volatile** out) {
  Impl& impl = impl_of(f);
  std::lock_guard lock(g_mu);
  PathState& s = *impl.state;
  if (!impl.shm_mapped) {
    impl.shm_mapped = true;
    ++s.shm_refs;
  }
  const auto index = static_cast<size_t>(region);
  if (index >= s.regions.size()) {
    if (!extend) {
      *out = nullptr;
      return SQLITE_OK;
    }
    while (s.regions.size() <= index) {
      auto r = std::make_unique<char[]>(static_cast<size_t>(region_size));
      std::memset(r.get(), 0, static_cast<size_t>(region_size));
      s.regions.push_back(std::move(r));
    }
  }
  *out = s.regions[index].get();
  return SQLITE_OK;
}

int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  Impl& impl = impl_of(f);
  std::lock_guard lock(g_mu);
  PathState& s = *impl.state;
  const void* me = &impl;
  const auto mask = static_cast<uint16_t>(((1u << n) - 1u) << offset);
  if (flags & SQLITE_SHM_UNLOCK) {
    for (int i = offset; i < offset + n; ++i) {
      const auto bit = static_cast<uint16_t>(1u << i);
      if (impl.shm_shared_mask & bit) --s.shm_shared[i];
      if (impl.shm_exclusive_mask & bit) s.shm_exclusive[i] = nullptr;
    }
    impl.shm_shared_mask = static_cast<uint16_t>(impl.shm_shared_mask & ~mask);
    impl.shm_exclusive_mask = static_cast<uint16_t>(impl.shm_exclusive_mask & ~mask);
    return SQLITE_OK;
  }
  if (flags & SQLITE_SHM_SHARED) {
    for (int i = offset; i < offset + n; ++i) {
      if (s.shm_exclusive[i] && s.shm_exclusive[i] != me) return SQLITE_BUSY;
    }
    for (int i = offset; i < offset + n; ++i) {
      const auto bit = static_cast<uint16_t>(1u << i);
      if (!(impl.shm_shared_mask & bit)) ++s.shm_shared[i];
    }
    impl.shm_shared_mask = static_cast<uint16_t>(impl.shm_shared_mask | mask);
    return SQLITE_OK;
  }
  for (int i = offset; i < offset + n; ++i) {  // exclusive
    const bool mine_shared = (impl.shm_shared_mask >> i) & 1u;
    if ((s.shm_exclusive[i] && s.shm_exclusive[i] != me) ||
        s.shm_shared[i] - (mine_shared ? 1 : 0) > 0)
      return SQLITE_BUSY;
  }
  for (int i = offset; i < offset + n; ++i) s.shm_exclusive[i] = me;
  impl.shm_exclusive_mask = static_cast<uint16_t>(impl.shm_exclusive_mask | mask);
  return SQLITE_OK;
}

void x_shm_barrier(sqlite3_file*) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  std::lock_guard lock(g_mu);
}

int x_shm_unmap(sqlite3_file* f, int) {
  Impl& impl = impl_of(f);
  std::lock_guard lock(g_mu);
  PathState& s = *impl.state;
  if (!impl.shm_mapped) return SQLITE_OK;
  for (int i = 0; i < kShmSlots; ++i) {
    if ((impl.shm_shared_mask >> i) & 1u) --s.shm_shared[i];
    if ((impl.shm_exclusive_mask >> i) & 1u) s.shm_exclusive[i] = nullptr;
  }
  impl.shm_shared_mask = impl.shm_exclusive_mask = 0;
  impl.shm_mapped = false;
  if (--s.shm_refs == 0) s.regions.clear();
  return SQLITE_OK;
}

const sqlite3_io_methods kMethods = {2,  // iVersion: with the shared-memory methods, without mmap
                                     x_close,
                                     x_read,
                                     x_write,
                                     x_truncate,
                                     x_sync,
                                     x_file_size,
                                     x_lock,
                                     x_unlock,
                                     x_check_reserved,
                                     x_file_control,
                                     x_sector_size,
                                     x_device_characteristics,
                                     x_shm_map,
                                     x_shm_lock,
                                     x_shm_barrier,
                                     x_shm_unmap,
                                     nullptr,
                                     nullptr};

int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* out, int flags, int* out_flags) {
  auto* v = static_cast<FsVfs*>(vfs->pAppData);
  out->pMethods = nullptr;
  if (name == nullptr) {  // a temporary file: nothing durable, SQLite's own VFS handles it
    return v->fallback->xOpen(v->fallback, name, out, flags, out_flags);
  }
  using Mode = platform::File::Mode;
  const bool create = (flags & SQLITE_OPEN_CREATE) != 0;
  Mode mode = (flags & SQLITE_OPEN_READONLY)    ? Mode::read_only
              : (flags & SQLITE_OPEN_EXCLUSIVE) ? Mode::create_new
              : create                          ? Mode::create
                                                : Mode::read_write;
  auto file = v->fs->open(name, mode);
  if (!file) {
    return file.error().code() == Errc::not_found ? SQLITE_CANTOPEN : SQLITE_IOERR;
  }
  auto impl = std::make_unique<Impl>();
  impl->vfs = v;
  impl->file = std::move(file).value();
  impl->path = name;
  if (impl->path.ends_with("-wal")) impl->kind = flash::WriteKind::meta_wal;
  // The name may come from a create by another connection that never syncs: the first sync of
  // each open file also syncs its directory.
  impl->dir_sync_pending = true;
  impl->incarnation = v->fs->incarnation();
  {
    std::lock_guard lock(g_mu);
    auto& state = g_paths[{v->fs, impl->incarnation, impl->path}];
    if (!state) state = std::make_shared<PathState>();
    ++state->opens;
    impl->state = state;
  }
  reinterpret_cast<VfsFile*>(out)->impl = impl.release();
  out->pMethods = &kMethods;
  if (out_flags) *out_flags = flags;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  auto* v = static_cast<FsVfs*>(vfs->pAppData);
  auto st = v->fs->unlink(name);
  if (!st) {
    return st.error().code() == Errc::not_found ? SQLITE_IOERR_DELETE_NOENT : SQLITE_IOERR_DELETE;
  }
  if (sync_dir && !v->fs->sync_dir(platform::parent_dir(name))) return SQLITE_IOERR_DIR_FSYNC;
  return SQLITE_OK;
}

int x_access(sqlite3_vfs* vfs, const char* name, int, int* out) {
  auto* v = static_cast<FsVfs*>(vfs->pAppData);
  *out = v->fs->exists(name) ? 1 : 0;
  return SQLITE_OK;
}

int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  if (std::strlen(name) + 1 > static_cast<size_t>(n)) return SQLITE_CANTOPEN;
  std::strcpy(out, name);
  return SQLITE_OK;
}

int x_randomness(sqlite3_vfs* vfs, int n, char* out) {
  auto* fb = static_cast<FsVfs*>(vfs->pAppData)->fallback;
  return fb->xRandomness(fb, n, out);
}
int x_sleep(sqlite3_vfs* vfs, int us) {
  auto* fb = static_cast<FsVfs*>(vfs->pAppData)->fallback;
  return fb->xSleep(fb, us);
}
int x_current_time(sqlite3_vfs* vfs, double* out) {
  auto* fb = static_cast<FsVfs*>(vfs->pAppData)->fallback;
  return fb->xCurrentTime(fb, out);
}
int x_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  auto* fb = static_cast<FsVfs*>(vfs->pAppData)->fallback;
  return fb->xCurrentTimeInt64(fb, out);
}
int x_get_last_error(sqlite3_vfs*, int, char*) { return 0; }

}  // namespace

Result<const char*> vfs_for(platform::FileSystem& fs) {
  if (&fs == &platform::real_fs()) return counting_vfs_name();
  std::lock_guard lock(g_mu);
  auto& slot = g_vfs[&fs];
  if (slot) return slot->name.c_str();
  auto v = std::make_unique<FsVfs>();
  v->fs = &fs;
  v->fallback = sqlite3_vfs_find(nullptr);
  if (v->fallback == nullptr) return Error(Errc::io, "sqlite: no default VFS");
  char buf[48];
  std::snprintf(buf, sizeof buf, "ferry-fs-%p", static_cast<void*>(&fs));
  v->name = buf;
  sqlite3_vfs& s = v->vfs;
  s.iVersion = 2;
  s.szOsFile = std::max(static_cast<int>(sizeof(VfsFile)), v->fallback->szOsFile);
  s.mxPathname = 1024;
  s.zName = v->name.c_str();
  s.pAppData = v.get();
  s.xOpen = x_open;
  s.xDelete = x_delete;
  s.xAccess = x_access;
  s.xFullPathname = x_full_pathname;
  s.xRandomness = x_randomness;
  s.xSleep = x_sleep;
  s.xCurrentTime = x_current_time;
  s.xGetLastError = x_get_last_error;
  s.xCurrentTimeInt64 = x_current_time_int64;
  if (int rc = sqlite3_vfs_register(&s, 0); rc != SQLITE_OK) {
    g_vfs.erase(&fs);
    return Error(Errc::io, std::string("sqlite3_vfs_register: ") + sqlite3_errstr(rc));
  }
  slot = std::move(v);
  return slot->name.c_str();
}

}  // namespace ferry::meta
