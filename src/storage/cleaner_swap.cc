// The segment swap of a cleaner pass and its recovery. See cleaner_swap.h for the protocol.
#include "storage/cleaner_swap.h"

#include <algorithm>
#include <charconv>
#include <cinttypes>

#include "common/flash_accounting.h"
#include "common/log.h"
#include "platform/file.h"
#include "storage/log.h"
#include "storage/segment.h"
#include "storage/segment_name.h"

namespace ferry::storage {
namespace {

// `<base>.log<suffix>` -> base, for the two cleaner suffixes.
std::optional<Offset> parse_with_suffix(const std::string& name, std::string_view suffix) {
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  auto parsed =
      parse_segment_file_name(std::string_view(name).substr(0, name.size() - suffix.size()));
  if (!parsed || parsed->kind != SegmentFile::log) return std::nullopt;
  return parsed->base;
}

std::string in_dir(const std::string& dir, Offset base, SegmentFile kind) {
  return dir + "/" + segment_file_name(base, kind);
}

// Removes a file if it exists (not durable: the caller fsyncs the directory).
Status remove_if_exists(platform::FileSystem& fs, const std::string& path) {
  if (!fs.exists(path)) return {};
  return fs.unlink(path);
}

// Step 3 for one segment, files only: indexes removed, `.swap` renamed over `.log`.
Status install_swap(platform::FileSystem& fs, const std::string& dir, Offset base) {
  FERRY_TRY(remove_if_exists(fs, in_dir(dir, base, SegmentFile::index)));
  FERRY_TRY(remove_if_exists(fs, in_dir(dir, base, SegmentFile::timeindex)));
  return fs.rename(swap_path(dir, base), in_dir(dir, base, SegmentFile::log));
}

}  // namespace

std::string cleaned_path(const std::string& dir, Offset base) {
  return in_dir(dir, base, SegmentFile::log) + kCleanedSuffix;
}
std::string swap_path(const std::string& dir, Offset base) {
  return in_dir(dir, base, SegmentFile::log) + kSwapSuffix;
}

Result<SwapRecovery> finish_cleaner_swaps(platform::FileSystem& fs, const std::string& dir) {
  SwapRecovery r;
  if (!fs.exists(dir)) return r;
  auto names = fs.list_dir(dir);
  if (!names) return std::move(names).error();
  std::vector<Offset> cleaned, swaps;
  for (const auto& name : *names) {
    if (auto b = parse_with_suffix(name, kCleanedSuffix)) cleaned.push_back(*b);
    if (auto b = parse_with_suffix(name, kSwapSuffix)) swaps.push_back(*b);
  }
  if (cleaned.empty() && swaps.empty()) return r;
  if (swaps.empty()) {
    // The pass never committed: the old segments are whole.
    for (Offset b : cleaned) FERRY_TRY(fs.unlink(cleaned_path(dir, b)));
    FERRY_TRY(fs.sync_dir(dir));
    r.discarded = cleaned.size();
    FERRY_LOG(warn, "storage",
              "%s: discarded %zu cleaned segment(s) of a compaction pass that did not commit",
              dir.c_str(), r.discarded);
    return r;
  }
  // Committed: every `.cleaned` of the pass was complete and durable before the first rename.
  for (Offset b : cleaned) {
    FERRY_TRY(fs.rename(cleaned_path(dir, b), swap_path(dir, b)));
    swaps.push_back(b);
  }
  std::sort(swaps.begin(), swaps.end());
  swaps.erase(std::unique(swaps.begin(), swaps.end()), swaps.end());
  for (Offset b : swaps) {
    if (!fs.exists(in_dir(dir, b, SegmentFile::log))) {
      // Retention deleted the segment after the pass planned it: its copy goes too.
      FERRY_TRY(fs.unlink(swap_path(dir, b)));
      continue;
    }
    FERRY_TRY(install_swap(fs, dir, b));
    ++r.finished;
  }
  FERRY_TRY(fs.sync_dir(dir));
  FERRY_LOG(warn, "storage", "%s: finished an interrupted compaction swap of %zu segment(s)",
            dir.c_str(), r.finished);
  return r;
}

std::optional<Offset> read_cleaner_point(platform::FileSystem& fs, const std::string& dir) {
  const std::string path = dir + "/" + kCleanerPointFile;
  if (!fs.exists(path)) return std::nullopt;
  auto f = fs.open(path, platform::File::Mode::read_only);
  if (!f) return std::nullopt;
  char buf[32] = {};
  auto n = f->pread_some({reinterpret_cast<std::byte*>(buf), sizeof buf - 1}, 0);
  if (!n || *n < 2 || buf[*n - 1] != '\n') return std::nullopt;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(buf, buf + *n - 1, value);
  if (ec != std::errc() || ptr != buf + *n - 1 || value < 0) return std::nullopt;
  return Offset(value);
}

Status write_cleaner_point(platform::FileSystem& fs, const std::string& dir, Offset point) {
  const std::string text = std::to_string(point.value()) + "\n";
  FERRY_TRY(fs.write_file_atomic(dir + "/" + kCleanerPointFile, platform::as_bytes(text)));
  flash::count_written(flash::WriteKind::checkpoint, text.size());
  return {};
}

void discard_cleaned(platform::FileSystem& fs, const std::string& dir,
                     const std::vector<CleanedSegment>& cleaned) {
  for (const auto& c : cleaned) {
    const std::string p = cleaned_path(dir, c.base);
    if (!fs.exists(p)) continue;
    if (auto st = fs.remove_file_durable(p); !st) {
      FERRY_LOG(warn, "storage", "%s: %s", p.c_str(), st.error().to_string().c_str());
    }
  }
}

Result<size_t> commit_cleaned(Log& log, const std::vector<CleanedSegment>& cleaned) {
  platform::FileSystem& fs = *log.fs_;
  const std::string& dir = log.dir_;
  auto abandon = [&](const std::string& why) -> Error {
    discard_cleaned(fs, dir, cleaned);
    return Error(Errc::invalid_argument, dir + ": compaction pass abandoned: " + why);
  };
  if (log.closed_ || log.failure_) return abandon("the log is closed or failed");
  std::vector<CleanedSegment> go, gone;
  for (const auto& c : cleaned) {
    auto it = std::lower_bound(log.segments_.begin(), log.segments_.end(), c.base,
                               [](const auto& s, Offset b) { return s->base() < b; });
    if (it == log.segments_.end() || (*it)->base() != c.base) {
      gone.push_back(c);  // retention deleted it meanwhile
      continue;
    }
    if (it + 1 == log.segments_.end() || (*it)->size() != c.old_size ||
        (*it)->durable_size() < (*it)->size()) {
      return abandon("segment " + std::to_string(c.base.value()) + " changed");
    }
    go.push_back(c);
  }
  discard_cleaned(fs, dir, gone);
  if (go.empty()) return size_t{0};
  // The commit point: once one `.swap` exists, recovery finishes the whole pass.
  if (auto st = fs.rename(cleaned_path(dir, go.front().base), swap_path(dir, go.front().base));
      !st) {
    return abandon(st.error().to_string());
  }
  auto failed = [&](const Error& e) -> Error {
    // Past the commit point the files are a committed, unfinished swap: the next open finishes
    // it. Until then this log takes nothing more.
    log.fail(Error(Errc::failed_state, dir + ": compaction swap failed: " + e.to_string()));
    return e;
  };
  for (size_t i = 1; i < go.size(); ++i) {
    if (auto st = fs.rename(cleaned_path(dir, go[i].base), swap_path(dir, go[i].base)); !st) {
      return failed(st.error());
    }
  }
  for (const auto& c : go) {
    if (auto st = install_swap(fs, dir, c.base); !st) return failed(st.error());
    auto it = std::lower_bound(log.segments_.begin(), log.segments_.end(), c.base,
                               [](const auto& s, Offset b) { return s->base() < b; });
    const Offset next = (*it)->next_offset();
    auto fresh = std::make_unique<Segment>(dir, c.base, c.new_size, *log.pool_,
                                           log.config_.index_interval_bytes);
    fresh->set_next_offset(next);
    *it = std::move(fresh);  // the old Segment unregisters its handles; open ones stay valid
  }
  FERRY_LOG(debug, "storage", "%s: swapped in %zu cleaned segment(s)", dir.c_str(), go.size());
  return go.size();
}

}  // namespace ferry::storage
