// Offset translation: the rows the mirror records and the lookup. See offset_map.h.
#include "mirror/offset_map.h"

#include <algorithm>
#include <iterator>

namespace ferry::mirror {

void OffsetTracker::start(std::optional<OffsetRow> last) {
  delta_.reset();
  if (last) delta_ = last->target - last->source.value();
}

void OffsetTracker::landed(Offset base, Offset next, int64_t target_next) {
  const int64_t delta = target_next - next.value();
  if (delta_ && *delta_ == delta) return;
  delta_ = delta;
  pending_.push_back({base, base.value() + delta});
}

std::vector<OffsetRow> OffsetTracker::take_pending() {
  std::vector<OffsetRow> out;
  out.swap(pending_);
  return out;
}

void OffsetTracker::restore(std::vector<OffsetRow> rows) {
  rows.insert(rows.end(), pending_.begin(), pending_.end());
  pending_ = std::move(rows);
}

void OffsetTracker::resend(Offset from) {
  delta_.reset();
  std::erase_if(pending_, [from](const OffsetRow& r) { return r.source >= from; });
}

Translation translate(std::span<const OffsetRow> rows, Offset forwarded, int64_t forwarded_target,
                      Offset n) {
  Translation t;
  if (forwarded_target < 0) {
    t.kind = TranslationKind::no_map;
    t.reason = "no target offset is recorded for this partition yet";
    return t;
  }
  if (n > forwarded) {
    t.kind = TranslationKind::not_forwarded;
    t.reason = "source offset " + std::to_string(n.value()) +
               " is not forwarded yet (forwarded up to " + std::to_string(forwarded.value()) +
               ", target offset " + std::to_string(forwarded_target) + ")";
    return t;
  }
  if (n == forwarded) {
    t.kind = TranslationKind::exact;
    t.target = forwarded_target;
    return t;
  }
  // The first row above n.
  auto above = std::upper_bound(rows.begin(), rows.end(), n,
                                [](Offset v, const OffsetRow& r) { return v < r.source; });
  if (above == rows.begin()) {
    t.kind = rows.empty() ? TranslationKind::no_map : TranslationKind::before_map;
    t.reason = rows.empty() ? "no offset map rows are recorded for this partition"
                            : "source offset " + std::to_string(n.value()) +
                                  " is below the oldest row of the offset map (source offset " +
                                  std::to_string(rows.front().source.value()) + ")";
    return t;
  }
  const OffsetRow& row = *std::prev(above);
  int64_t target = n.value() + (row.target - row.source.value());
  // Inside a source gap: no record at n, the next one landed at the next row's target offset.
  if (above != rows.end()) target = std::min(target, above->target);
  t.kind = TranslationKind::exact;
  t.target = std::min(target, forwarded_target);
  return t;
}

}  // namespace ferry::mirror
