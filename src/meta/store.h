// The metadata store: DATA/meta.db, SQLite in WAL mode. Topics and their configs, consumer-group
// committed offsets, the producer-id allocator, producer state snapshots and mirror checkpoints.
// Schema and durability choices: docs/metadata.md.
//
// Threading. A MetaStore belongs to one libuv loop; every public method runs on that loop's
// thread. Writes are queued with submit(); one commit job at a time runs on libuv's thread pool
// and commits *everything queued so far* in one transaction (group commit), each submission
// inside its own savepoint so one failing submission does not undo the others. Callbacks fire
// on the loop, in submission order. Reads run on the loop on a second connection (WAL readers
// do not block the writer) and see a write once its callback has fired.
// With `loop == nullptr` (tools, tests) submit() commits before returning.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "common/strong_types.h"
#include "meta/credential_store.h"
#include "meta/schema.h"
#include "meta/sqlite.h"

namespace ferry::meta {

struct TopicRecord {
  std::string name;
  std::string topic_id;  // 22-character base64url UUID; '' only for rows not yet given one
  int32_t partitions = 1;
  int64_t created_ms = 0;
  std::map<std::string, std::string> configs;  // only keys set explicitly on the topic
  bool operator==(const TopicRecord&) const = default;
};

struct OffsetCommit {
  std::string topic;
  PartitionId partition{0};
  Offset offset{0};
  LeaderEpoch leader_epoch{-1};
  std::string metadata;
  int64_t commit_ms = 0;
  bool operator==(const OffsetCommit&) const = default;
};

// A snapshot of one producer's state on one partition (the idempotence bookkeeping).
struct ProducerStateRecord {
  std::string topic;
  PartitionId partition{0};
  ProducerId producer_id{-1};
  int16_t producer_epoch = -1;
  int32_t last_sequence = -1;
  Offset last_offset{-1};
  int64_t timestamp_ms = 0;
  std::string batches;  // encoded recent batch metadata, opaque to the store
  bool operator==(const ProducerStateRecord&) const = default;
};

struct MirrorCheckpoint {
  std::string mirror;
  std::string topic;
  PartitionId partition{0};
  Offset source_offset{0};  // the source offset after the last acknowledged batch
  // The target offset after that batch; -1 when unknown (rows from before schema version 6).
  int64_t target_offset = -1;
  int64_t updated_ms = 0;
  bool operator==(const MirrorCheckpoint&) const = default;
};

// A producer id a mirror obtained from its target (mirror_store.cc).
struct MirrorProducerId {
  std::string mirror;
  ProducerId producer_id{-1};
  int16_t producer_epoch = 0;
  int64_t created_ms = 0;
  bool operator==(const MirrorProducerId&) const = default;
};

// One change to the metadata. Build with the named constructors.
struct Mutation {
  struct CreateTopic {
    TopicRecord topic;
  };
  struct DeleteTopic {
    std::string name;  // also deletes its configs, committed offsets and producer state
  };
  struct SetPartitions {
    std::string name;
    int32_t partitions;
  };
  struct SetTopicId {
    std::string name;
    std::string topic_id;
  };
  struct AlterConfigs {
    std::string name;
    std::map<std::string, std::string> set;
    std::vector<std::string> remove;
  };
  struct CommitOffsets {
    std::string group;
    std::vector<OffsetCommit> offsets;
  };
  struct DeleteGroup {
    std::string group;
  };
  struct DeleteOffsets {
    std::string group;
    std::string topic;
    PartitionId partition;
  };
  // Replaces the producer-state snapshot of one partition: `producers` as of log offset
  // `offset` (every batch below it is reflected, none at or above it).
  struct PutProducerSnapshot {
    std::string topic;
    PartitionId partition;
    Offset offset;
    std::vector<ProducerStateRecord> producers;
  };
  struct PutMirrorCheckpoint {
    MirrorCheckpoint checkpoint;
  };
  struct PutMirrorProducerId {
    MirrorProducerId id;
  };
  // Reserves `count` producer ids; the first is written to `*first` before the callback fires.
  struct ReserveProducerIds {
    int64_t count;
    std::shared_ptr<ProducerId> first;
  };
  // A change written by a store module in its own file (acl_store.h): `apply` runs on the
  // writer connection inside the submission's savepoint, on the thread pool (or inline without
  // a loop); it must touch only the database it is given.
  struct Apply {
    std::function<Status(Db&)> apply;
  };
  // SCRAM credentials (credential_store.h). Deleting with an empty mechanism deletes every
  // credential of the user; deleting what does not exist fails with not_found.
  struct PutScramCredential {
    ScramCredentialRecord credential;
  };
  struct DeleteScramCredential {
    std::string user;
    std::string mechanism;
  };
  using Op = std::variant<CreateTopic, DeleteTopic, SetPartitions, SetTopicId, AlterConfigs,
                          CommitOffsets, DeleteGroup, DeleteOffsets, PutProducerSnapshot,
                          PutMirrorCheckpoint, ReserveProducerIds, PutScramCredential,
                          DeleteScramCredential, PutMirrorProducerId, Apply>;
  Op op;

  static Mutation create_topic(TopicRecord t) { return {CreateTopic{std::move(t)}}; }
  static Mutation delete_topic(std::string name) { return {DeleteTopic{std::move(name)}}; }
  static Mutation set_partitions(std::string name, int32_t n) {
    return {SetPartitions{std::move(name), n}};
  }
  static Mutation set_topic_id(std::string name, std::string id) {
    return {SetTopicId{std::move(name), std::move(id)}};
  }
  static Mutation alter_configs(std::string name, std::map<std::string, std::string> set,
                                std::vector<std::string> remove = {}) {
    return {AlterConfigs{std::move(name), std::move(set), std::move(remove)}};
  }
  static Mutation commit_offsets(std::string group, std::vector<OffsetCommit> offsets) {
    return {CommitOffsets{std::move(group), std::move(offsets)}};
  }
  static Mutation delete_group(std::string group) { return {DeleteGroup{std::move(group)}}; }
  static Mutation delete_offsets(std::string group, std::string topic, PartitionId p) {
    return {DeleteOffsets{std::move(group), std::move(topic), p}};
  }
  static Mutation put_producer_snapshot(std::string topic, PartitionId p, Offset offset,
                                        std::vector<ProducerStateRecord> producers) {
    return {PutProducerSnapshot{std::move(topic), p, offset, std::move(producers)}};
  }
  static Mutation put_mirror_checkpoint(MirrorCheckpoint c) {
    return {PutMirrorCheckpoint{std::move(c)}};
  }
  static Mutation put_scram_credential(ScramCredentialRecord c) {
    return {PutScramCredential{std::move(c)}};
  }
  static Mutation delete_scram_credential(std::string user, std::string mechanism = {}) {
    return {DeleteScramCredential{std::move(user), std::move(mechanism)}};
  }
  static Mutation put_mirror_producer_id(MirrorProducerId id) {
    return {PutMirrorProducerId{std::move(id)}};
  }
  static Mutation reserve_producer_ids(int64_t count, std::shared_ptr<ProducerId> first) {
    return {ReserveProducerIds{count, std::move(first)}};
  }
  static Mutation apply(std::function<Status(Db&)> fn) { return {Apply{std::move(fn)}}; }
};

class MetaStore {
 public:
  // Opens or creates the database and migrates it to `migrations` (the builtin schema unless a
  // test injects steps). Fails with newer_version for a database from a newer ferry, corrupt
  // for a file that is not a database.
  static Result<std::unique_ptr<MetaStore>> open(
      const std::string& path, uv_loop_t* loop,
      std::span<const Migration> migrations = builtin_migrations(),
      platform::FileSystem& fs = platform::real_fs());
  ~MetaStore();
  MetaStore(const MetaStore&) = delete;
  MetaStore& operator=(const MetaStore&) = delete;

  int schema_version() const noexcept { return version_; }
  // False once close() began (the admin listener's readiness check).
  bool is_closed() const noexcept { return closed_; }

  // Queues `mutations` as one all-or-nothing submission; `done` (may be empty) fires on the loop
  // after the transaction holding it committed (ok) or the submission was rolled back (error).
  void submit(std::vector<Mutation> mutations, std::function<void(Status)> done = {});
  // Commits at once on the calling thread: for stores without a loop (tools, tests) and for
  // start-up, before anything was submitted (nothing may be queued or in flight).
  Status submit_sync(std::vector<Mutation> mutations);

  // Reads (loop thread).
  Result<std::vector<TopicRecord>> list_topics();
  Result<std::optional<TopicRecord>> get_topic(const std::string& name);
  Result<std::vector<std::string>> list_groups();
  Result<std::vector<OffsetCommit>> committed_offsets(const std::string& group);
  Result<std::optional<OffsetCommit>> committed_offset(const std::string& group,
                                                       const std::string& topic, PartitionId p);
  // One past the last producer id ever reserved: every id below it may have been handed out.
  Result<ProducerId> producer_id_limit();
  // The partition's producer-state snapshot: its offset (nullopt when none was taken) and rows.
  Result<std::optional<Offset>> producer_snapshot_offset(const std::string& topic, PartitionId p);
  Result<std::vector<ProducerStateRecord>> producer_states(const std::string& topic, PartitionId p);
  Result<std::optional<Offset>> mirror_checkpoint(const std::string& mirror,
                                                  const std::string& topic, PartitionId p);
  // Every SCRAM credential (credential_store.cc).
  Result<std::vector<ScramCredentialRecord>> list_scram_credentials();
  // A mirror's checkpoints (every partition) and recorded producer ids (mirror_store.cc).
  Result<std::vector<MirrorCheckpoint>> mirror_checkpoints(const std::string& mirror);
  Result<std::vector<MirrorProducerId>> mirror_producer_ids(const std::string& mirror);

  // A full disk. SQLite needs free blocks to commit (WAL frames) and to checkpoint, so a store
  // given a reserve keeps a file of `bytes` zeros at `path` (created now if missing and there
  // is room). A commit or checkpoint that fails with SQLITE_FULL deletes the reserve and is
  // tried once more, so a topic deletion that frees space can still be committed when the disk
  // is full. restore_space_reserve() (loop thread, e.g. on a housekeeping tick) recreates it
  // once the disk has at least twice `bytes` free again.
  void set_space_reserve(std::string path, uint64_t bytes);
  void restore_space_reserve();
  // Whether the reserve was used and is not yet recreated.
  bool space_reserve_released() const noexcept;

  // The loop thread's read connection, for store modules in their own files (acl_store.h)
  // to read their tables. Loop thread only.
  Db& reader() noexcept { return reader_; }

  // Transactions committed so far (group commit makes this lower than the submissions).
  uint64_t transactions() const noexcept { return transactions_; }

  // Waits for queued writes, checkpoints the WAL into the database file and closes. `done`
  // fires on the loop (inline without a loop). No method may be called afterwards.
  void close(std::function<void(Status)> done = {});

 private:
  struct Submission {
    std::vector<Mutation> mutations;
    std::function<void(Status)> done;
    Status result;
  };
  struct CommitJob;
  struct SpaceReserve {
    std::string path;
    uint64_t bytes = 0;
    // Set by whoever deleted the file (a commit job on the thread pool, or inline); read on the
    // loop once that job is back.
    std::atomic<bool> released{false};
    platform::FileSystem* fs = nullptr;
    bool release();  // deletes the file; false if there was none
  };
  MetaStore(Db writer, Db reader, uv_loop_t* loop, int version, platform::FileSystem& fs);
  void start_job();
  void finish_job(std::unique_ptr<CommitJob> job);
  static void commit(Db& db, std::vector<Submission>& batch, SpaceReserve* reserve);
  static void commit_once(Db& db, const std::vector<Submission*>& batch);
  Status close_now();
  Status checkpoint();

  Db writer_;  // used by the commit job (thread pool) or inline; never by loop code mid-job
  Db reader_;  // loop thread only
  uv_loop_t* loop_;
  int version_;
  platform::FileSystem* fs_;  // meta.db and the space reserve live on it
  std::vector<Submission> queue_;
  bool job_in_flight_ = false;
  bool closed_ = false;
  uint64_t transactions_ = 0;
  std::function<void(Status)> on_closed_;
  std::unique_ptr<SpaceReserve> reserve_;
};

}  // namespace ferry::meta
