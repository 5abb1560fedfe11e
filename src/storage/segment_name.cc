// Segment file naming (see segment_name.h).
#include "storage/segment_name.h"

#include <cstdio>

namespace ferry::storage {
namespace {
constexpr size_t kDigits = 20;

std::string_view suffix(SegmentFile kind) {
  switch (kind) {
    case SegmentFile::log: return ".log";
    case SegmentFile::index: return ".index";
    case SegmentFile::timeindex: return ".timeindex";
  }
  return "";
}
}  // namespace

std::string segment_file_name(Offset base, SegmentFile kind) {
  char digits[kDigits + 1];
  std::snprintf(digits, sizeof digits, "%020lld", static_cast<long long>(base.value()));
  std::string name(digits, kDigits);
  name += suffix(kind);
  return name;
}

std::optional<ParsedSegmentName> parse_segment_file_name(std::string_view name) {
  if (name.size() <= kDigits) return std::nullopt;
  int64_t value = 0;
  for (size_t i = 0; i < kDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    if (value > (INT64_MAX - (c - '0')) / 10) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  std::string_view rest = name.substr(kDigits);
  for (SegmentFile kind : {SegmentFile::log, SegmentFile::index, SegmentFile::timeindex}) {
    if (rest == suffix(kind)) return ParsedSegmentName{Offset(value), kind};
  }
  return std::nullopt;
}

}  // namespace ferry::storage
