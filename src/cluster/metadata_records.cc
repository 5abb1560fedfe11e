// The metadata log's records. See metadata_records.h.
#include "cluster/metadata_records.h"

#include "protocol/record_batch.h"
#include "protocol/wire.h"

namespace ferry::cluster {
namespace {

constexpr int8_t kVersion = 1;

void put_assignment(protocol::Writer& w, const Assignment& a) {
  w.i32(static_cast<int32_t>(a.size()));
  for (const auto& replicas : a) {
    w.i32(static_cast<int32_t>(replicas.size()));
    for (NodeId n : replicas) w.i32(n.value());
  }
}

void put_map(protocol::Writer& w, const std::map<std::string, std::string>& m) {
  w.i32(static_cast<int32_t>(m.size()));
  for (const auto& [k, v] : m) {
    w.string(k, false);
    w.string(v, false);
  }
}

// Counts are bounded by what is left to read (each element takes at least a byte or four).
int32_t count(protocol::Reader& r, size_t min_element) {
  const int32_t n = r.i32();
  if (n < 0 || static_cast<size_t>(n) * min_element > r.remaining()) {
    r.fail("bad count");
    return 0;
  }
  return n;
}

Assignment get_assignment(protocol::Reader& r) {
  Assignment a(static_cast<size_t>(count(r, 4)));
  for (auto& replicas : a) {
    const int32_t n = count(r, 4);
    for (int32_t i = 0; i < n; ++i) replicas.emplace_back(r.i32());
  }
  return a;
}

std::map<std::string, std::string> get_map(protocol::Reader& r) {
  std::map<std::string, std::string> m;
  const int32_t n = count(r, 4);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    std::string k = r.string(false);
    m[k] = r.string(false);
  }
  return m;
}

const char* key_of(const MetadataCommand& c) {
  switch (c.index()) {
    case 0: return "create_topic";
    case 1: return "delete_topic";
    case 2: return "create_partitions";
    case 3: return "alter_configs";
    case 4: return "commit_offsets";
    case 5: return "delete_offsets";
    case 6: return "delete_group";
    case 7: return "cluster_id";
    default: return "group_state";
  }
}

}  // namespace

Result<std::vector<std::byte>> encode_command_batch(const MetadataCommand& command,
                                                    int64_t now_ms) {
  std::vector<std::byte> value;
  protocol::Writer w(value);
  w.i8(kVersion);
  if (const auto* c = std::get_if<CreateTopicCommand>(&command)) {
    w.string(c->record.name, false);
    w.string(c->record.topic_id, false);
    w.i32(c->record.partitions);
    w.i64(c->record.created_ms);
    put_map(w, c->record.configs);
    put_assignment(w, c->assignment);
  } else if (const auto* d = std::get_if<DeleteTopicCommand>(&command)) {
    w.string(d->name, false);
  } else if (const auto* p = std::get_if<CreatePartitionsCommand>(&command)) {
    w.string(p->name, false);
    w.i32(p->total);
    put_assignment(w, p->added);
  } else if (const auto* a = std::get_if<AlterConfigsCommand>(&command)) {
    w.string(a->name, false);
    w.i8(a->replace_all ? 1 : 0);
    put_map(w, a->set);
    w.i32(static_cast<int32_t>(a->remove.size()));
    for (const auto& k : a->remove) w.string(k, false);
  } else if (const auto* o = std::get_if<CommitOffsetsCommand>(&command)) {
    w.string(o->group, false);
    w.i32(static_cast<int32_t>(o->offsets.size()));
    for (const auto& row : o->offsets) {
      w.string(row.topic, false);
      w.i32(row.partition.value());
      w.i64(row.offset.value());
      w.i32(row.leader_epoch.value());
      w.string(row.metadata, false);
      w.i64(row.commit_ms);
    }
  } else if (const auto* od = std::get_if<DeleteOffsetsCommand>(&command)) {
    w.string(od->group, false);
    w.i32(static_cast<int32_t>(od->partitions.size()));
    for (const auto& [topic, partition] : od->partitions) {
      w.string(topic, false);
      w.i32(partition.value());
    }
  } else if (const auto* g = std::get_if<DeleteGroupCommand>(&command)) {
    w.string(g->group, false);
  } else if (const auto* id = std::get_if<ClusterIdCommand>(&command)) {
    w.string(id->cluster_id, false);
  } else if (const auto* gs = std::get_if<GroupStateCommand>(&command)) {
    w.string(gs->group, false);
    w.bytes(broker::encode_group_snapshot(gs->snapshot), false);
  }
  protocol::RecordInput record;
  record.key = key_of(command);
  record.value = std::string_view(reinterpret_cast<const char*>(value.data()), value.size());
  record.timestamp_ms = now_ms;
  return protocol::build_batch(std::span<const protocol::RecordInput>(&record, 1), {});
}

Result<std::vector<MetadataCommand>> decode_command_batch(std::span<const std::byte> batch) {
  std::vector<MetadataCommand> out;
  const protocol::BatchView view(batch);
  std::vector<std::byte> scratch;
  auto records = protocol::decode_records(view, scratch);
  if (!records) return std::move(records).error();
  for (const auto& rec : *records) {
    if (!rec.key || !rec.value) return Error(Errc::corrupt, "metadata record without key/value");
    const std::string key(reinterpret_cast<const char*>(rec.key->data()), rec.key->size());
    protocol::Reader r(*rec.value);
    if (r.i8() != kVersion) {
      return Error(Errc::unsupported, "metadata record '" + key + "' of an unknown version");
    }
    if (key == "create_topic") {
      CreateTopicCommand c;
      c.record.name = r.string(false);
      c.record.topic_id = r.string(false);
      c.record.partitions = r.i32();
      c.record.created_ms = r.i64();
      c.record.configs = get_map(r);
      c.assignment = get_assignment(r);
      out.emplace_back(std::move(c));
    } else if (key == "delete_topic") {
      out.emplace_back(DeleteTopicCommand{r.string(false)});
    } else if (key == "create_partitions") {
      CreatePartitionsCommand c;
      c.name = r.string(false);
      c.total = r.i32();
      c.added = get_assignment(r);
      out.emplace_back(std::move(c));
    } else if (key == "alter_configs") {
      AlterConfigsCommand c;
      c.name = r.string(false);
      c.replace_all = r.i8() != 0;
      c.set = get_map(r);
      const int32_t n = count(r, 2);
      for (int32_t i = 0; i < n && r.ok(); ++i) c.remove.push_back(r.string(false));
      out.emplace_back(std::move(c));
    } else if (key == "commit_offsets") {
      CommitOffsetsCommand c;
      c.group = r.string(false);
      const int32_t n = count(r, 28);
      for (int32_t i = 0; i < n && r.ok(); ++i) {
        meta::OffsetCommit o;
        o.topic = r.string(false);
        o.partition = PartitionId(r.i32());
        o.offset = Offset(r.i64());
        o.leader_epoch = LeaderEpoch(r.i32());
        o.metadata = r.string(false);
        o.commit_ms = r.i64();
        c.offsets.push_back(std::move(o));
      }
      out.emplace_back(std::move(c));
    } else if (key == "delete_offsets") {
      DeleteOffsetsCommand c;
      c.group = r.string(false);
      const int32_t n = count(r, 6);
      for (int32_t i = 0; i < n && r.ok(); ++i) {
        std::string topic = r.string(false);
        c.partitions.emplace_back(std::move(topic), PartitionId(r.i32()));
      }
      out.emplace_back(std::move(c));
    } else if (key == "delete_group") {
      out.emplace_back(DeleteGroupCommand{r.string(false)});
    } else if (key == "cluster_id") {
      out.emplace_back(ClusterIdCommand{r.string(false)});
    } else if (key == "group_state") {
      GroupStateCommand c;
      c.group = r.string(false);
      auto bytes = r.nullable_bytes(false);
      if (r.ok() && !bytes) r.fail("null group snapshot");
      if (r.ok()) {
        auto snapshot = broker::decode_group_snapshot(*bytes);
        if (!snapshot) {
          return Error(snapshot.error().code(),
                       "metadata record '" + key + "': " + snapshot.error().message());
        }
        c.snapshot = std::move(*snapshot);
      }
      out.emplace_back(std::move(c));
    } else {
      return Error(Errc::unsupported, "unknown metadata record '" + key + "'");
    }
    if (!r.ok()) {
      return Error(Errc::corrupt, "metadata record '" + key + "': " + r.failure());
    }
  }
  return out;
}

}  // namespace ferry::cluster
