// Where the mirror keeps its offset map (offset_map.h) in meta.db (meta/mirror_offsets.h): the
// newest row of a partition when forwarding starts, and the write of new rows next to a
// checkpoint, pruned below the source partition's log start.
//
// Threading: the mirror's loop thread (reads on the store's loop reader).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "broker/topic_manager.h"
#include "meta/store.h"
#include "mirror/offset_map.h"

namespace ferry::mirror {

// The newest recorded row of the partition; nullopt when there is none or it cannot be read
// (then the next landing records a row again, which is harmless).
std::optional<OffsetRow> last_offset_row(meta::MetaStore& meta, const std::string& mirror,
                                         const storage::TopicPartition& tp);

// The store mutation deleting the partition's rows at or above source offset `from`: a resend
// from there starts, and those rows name target offsets of batches the target lost.
meta::Mutation resend_offset_rows_mutation(const std::string& mirror,
                                           const storage::TopicPartition& tp, Offset from);

// The store mutation writing `rows` of the partition and pruning what its source log no longer
// needs.
meta::Mutation offset_rows_mutation(const std::string& mirror, const storage::TopicPartition& tp,
                                    const std::vector<OffsetRow>& rows,
                                    broker::TopicManager& topics);

}  // namespace ferry::mirror
