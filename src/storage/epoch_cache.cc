// The leader-epoch cache and its file, leader-epoch.cache. See epoch_cache.h.
#include "storage/epoch_cache.h"

#include <charconv>
#include <cstdio>
#include <string_view>

#include "common/flash_accounting.h"
#include "platform/crc32c.h"
#include "platform/file.h"

namespace ferry::storage {
namespace {

constexpr std::string_view kMagicLine = "ferry-leader-epochs 1";
constexpr std::string_view kCrcPrefix = "crc ";

Error unreadable(const std::string& why) {
  return Error(Errc::corrupt, std::string(kEpochCacheFile) + ": " + why);
}

template <class T>
bool parse_int(std::string_view text, T& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

std::string crc_line(std::string_view covered) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x",
                static_cast<unsigned>(platform::crc32c(0, covered.data(), covered.size())));
  return std::string(kCrcPrefix) + hex + "\n";
}

}  // namespace

LeaderEpoch LeaderEpochCache::last_epoch() const noexcept {
  return entries_.empty() ? LeaderEpoch(-1) : entries_.back().epoch;
}

bool LeaderEpochCache::assign(LeaderEpoch epoch, Offset offset) {
  if (epoch < LeaderEpoch(0)) return false;
  if (!entries_.empty() &&
      (epoch <= entries_.back().epoch || offset <= entries_.back().start_offset)) {
    return false;
  }
  entries_.push_back({epoch, offset});
  return true;
}

bool LeaderEpochCache::truncate_from_end(Offset end) {
  bool changed = false;
  while (!entries_.empty() && entries_.back().start_offset >= end) {
    entries_.pop_back();
    changed = true;
  }
  return changed;
}

bool LeaderEpochCache::truncate_from_start(Offset start) {
  // The last entry starting at or below `start` covers it; everything before it goes.
  size_t covering = 0;
  bool found = false;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].start_offset <= start) {
      covering = i;
      found = true;
    }
  }
  if (!found) return false;
  bool changed = covering > 0;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(covering));
  if (entries_.front().start_offset < start) {
    entries_.front().start_offset = start;
    changed = true;
  }
  return changed;
}

EpochEndOffset LeaderEpochCache::end_of_epoch(LeaderEpoch epoch, Offset log_end) const {
  if (entries_.empty() || epoch < entries_.front().epoch) return {};
  // The first entry with an epoch above the one asked about ends the answer's epoch.
  for (size_t i = 1; i < entries_.size(); ++i) {
    if (entries_[i].epoch > epoch) return {entries_[i - 1].epoch, entries_[i].start_offset};
  }
  return {entries_.back().epoch, log_end};
}

std::string LeaderEpochCache::encode() const {
  std::string text(kMagicLine);
  text += '\n';
  for (const auto& e : entries_) {
    text += std::to_string(e.epoch.value());
    text += ' ';
    text += std::to_string(e.start_offset.value());
    text += '\n';
  }
  text += crc_line(text);
  return text;
}

Result<LeaderEpochCache> LeaderEpochCache::decode(std::span<const std::byte> bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (text.size() < 2 || text.back() != '\n') return unreadable("does not end with a full line");
  // The CRC line is the last one; it covers everything before it.
  const size_t last_start = text.rfind('\n', text.size() - 2);
  if (last_start == std::string_view::npos) return unreadable("no CRC line");
  const std::string_view covered = text.substr(0, last_start + 1);
  if (text.substr(last_start + 1) != crc_line(covered)) return unreadable("CRC mismatch");
  std::vector<EpochEntry> entries;
  size_t pos = 0;
  bool first = true;
  while (pos < covered.size()) {
    const size_t nl = covered.find('\n', pos);
    const std::string_view line = covered.substr(pos, nl - pos);
    pos = nl + 1;
    if (first) {
      if (line != kMagicLine) return unreadable("unknown format or version");
      first = false;
      continue;
    }
    const size_t sp = line.find(' ');
    int32_t epoch = 0;
    int64_t offset = 0;
    if (sp == std::string_view::npos || !parse_int(line.substr(0, sp), epoch) ||
        !parse_int(line.substr(sp + 1), offset)) {
      return unreadable("bad entry line");
    }
    entries.push_back({LeaderEpoch(epoch), Offset(offset)});
  }
  if (first) return unreadable("no header line");
  auto cache = from_entries(std::move(entries));
  if (!cache) return unreadable(cache.error().message());
  return cache;
}

Result<LeaderEpochCache> LeaderEpochCache::from_entries(std::vector<EpochEntry> entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].epoch < LeaderEpoch(0) || entries[i].start_offset < Offset(0)) {
      return Error(Errc::invalid_argument, "negative epoch or offset");
    }
    if (i > 0 && (entries[i].epoch <= entries[i - 1].epoch ||
                  entries[i].start_offset <= entries[i - 1].start_offset)) {
      return Error(Errc::invalid_argument, "entries not increasing");
    }
  }
  LeaderEpochCache cache;
  cache.entries_ = std::move(entries);
  return cache;
}

EpochCacheFile::EpochCacheFile(platform::FileSystem& fs, std::string dir)
    : fs_(fs), path_(std::move(dir) + "/" + kEpochCacheFile) {}

Status EpochCacheFile::write(uint64_t sequence, const std::string& text) {
  std::lock_guard lock(mu_);
  if (sequence <= written_) return {};  // a newer snapshot is on disk already
  FERRY_TRY(fs_.write_file_atomic(path_, platform::as_bytes(text)));
  flash::count_written(flash::WriteKind::checkpoint, text.size());
  written_ = sequence;
  return {};
}

Result<std::optional<std::vector<std::byte>>> EpochCacheFile::read() const {
  if (!fs_.exists(path_)) return std::optional<std::vector<std::byte>>();
  auto f = fs_.open(path_, platform::File::Mode::read_only);
  if (!f) return std::move(f).error();
  auto size = f->size();
  if (!size) return std::move(size).error();
  // The file holds a line per epoch; anything this large is not one of ours.
  if (*size > (uint64_t{16} << 20)) return unreadable("too large");
  std::vector<std::byte> bytes(static_cast<size_t>(*size));
  FERRY_TRY(f->pread_exact(bytes, 0));
  return std::optional<std::vector<std::byte>>(std::move(bytes));
}

}  // namespace ferry::storage
