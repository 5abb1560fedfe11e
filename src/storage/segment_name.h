// The one pair of functions that make and parse segment file names, so naming and recovery never
// disagree: "<base offset, 20 digits zero-padded>.log|.index|.timeindex".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/strong_types.h"

namespace ferry::storage {

enum class SegmentFile { log, index, timeindex };

std::string segment_file_name(Offset base, SegmentFile kind);

struct ParsedSegmentName {
  Offset base;
  SegmentFile kind;
};
// nullopt for anything that is not exactly a segment file name (temp files, other names).
std::optional<ParsedSegmentName> parse_segment_file_name(std::string_view name);

}  // namespace ferry::storage
