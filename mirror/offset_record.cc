// The offset map's rows read from and written to meta.db. See offset_record.h.
#include "mirror/offset_record.h"

#include "meta/mirror_offsets.h"

namespace ferry::mirror {

std::optional<OffsetRow> last_offset_row(meta::MetaStore& meta, const std::string& mirror,
                                         const storage::TopicPartition& tp) {
  auto last = meta::last_mirror_offset_row(meta.reader(), mirror, tp.topic, tp.partition);
  if (!last || !*last) return std::nullopt;
  return OffsetRow{(*last)->source_offset, (*last)->target_offset};
}

meta::Mutation resend_offset_rows_mutation(const std::string& mirror,
                                           const storage::TopicPartition& tp, Offset from) {
  return meta::Mutation::apply([mirror, tp, from](meta::Db& db) {
    return meta::delete_mirror_offset_rows_from(db, mirror, tp.topic, tp.partition, from);
  });
}

meta::Mutation offset_rows_mutation(const std::string& mirror, const storage::TopicPartition& tp,
                                    const std::vector<OffsetRow>& rows,
                                    broker::TopicManager& topics) {
  std::vector<meta::MirrorOffsetRow> out;
  out.reserve(rows.size());
  for (const OffsetRow& r : rows) out.push_back({tp.topic, tp.partition, r.source, r.target});
  // Unknown log start (partition gone): prune nothing below the rows.
  Offset log_start(0);
  if (auto part = topics.partition(tp.topic, tp.partition.value())) {
    log_start = part->log_start_offset();
  }
  return meta::mirror_offset_rows_mutation(mirror, std::move(out), log_start);
}

}  // namespace ferry::mirror
