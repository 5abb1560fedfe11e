// The mirror's rows of meta.db (docs/mirror.md, docs/metadata.md): per-partition checkpoints
// (source offset, target offset) in `mirror_checkpoints`, and every producer id a mirror
// obtained in `mirror_producer_ids`. The store's commit job applies the writes below; the reads
// are MetaStore::mirror_checkpoints / mirror_producer_ids (defined in mirror_store.cc).
//
// Threading: the writers run where the store commits (its thread-pool job, or inline without a
// loop), on the writer connection they are given.
#pragma once

#include "common/result.h"
#include "meta/sqlite.h"
#include "meta/store.h"

namespace ferry::meta {

// Inserts or replaces the checkpoint of (mirror, topic, partition).
Status put_mirror_checkpoint(Db& db, const MirrorCheckpoint& c);
// Records a producer id; recording the same (mirror, id) again is not an error.
Status put_mirror_producer_id(Db& db, const MirrorProducerId& id);

}  // namespace ferry::meta
