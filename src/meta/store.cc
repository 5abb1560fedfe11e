// MetaStore: group-committed writes on the thread pool, reads on the loop (see store.h).
#include "meta/store.h"

#include <algorithm>
#include <cassert>

#include "common/flash_accounting.h"
#include "common/log.h"
#include "meta/mirror_store.h"
#include "platform/file.h"

namespace ferry::meta {
namespace {

Error not_found(const std::string& what) { return Error(Errc::not_found, what); }

// Applies one mutation on the writer connection (inside the caller's savepoint).
class Applier {
 public:
  explicit Applier(Db& db) : db_(db) {}

  Status operator()(const Mutation::CreateTopic& m) {
    auto s = db_.cached(
        "INSERT INTO topics (name, partitions, created_ms, topic_id) VALUES (?, ?, ?, ?)");
    if (!s) return std::move(s).error();
    (*s)->bind(1, m.topic.name).bind(2, m.topic.partitions).bind(3, m.topic.created_ms);
    (*s)->bind(4, m.topic.topic_id);
    if (auto st = (*s)->run(); !st) {
      if (st.error().code() == Errc::invalid_argument) {
        return Error(Errc::already_exists, "topic " + m.topic.name + " already exists");
      }
      return st;
    }
    return put_configs(m.topic.name, m.topic.configs);
  }

  Status operator()(const Mutation::DeleteTopic& m) {
    FERRY_TRY(exec_named("DELETE FROM topics WHERE name = ?", m.name));
    if (sqlite3_changes(db_.raw()) == 0) return not_found("topic " + m.name + " does not exist");
    FERRY_TRY(exec_named("DELETE FROM group_offsets WHERE topic = ?", m.name));
    FERRY_TRY(exec_named("DELETE FROM producer_state WHERE topic = ?", m.name));
    FERRY_TRY(exec_named("DELETE FROM producer_snapshots WHERE topic = ?", m.name));
    FERRY_TRY(exec_named("DELETE FROM mirror_offsets WHERE topic = ?", m.name));
    return exec_named("DELETE FROM mirror_checkpoints WHERE topic = ?", m.name);
  }

  Status operator()(const Mutation::SetPartitions& m) {
    auto s = db_.cached("UPDATE topics SET partitions = ? WHERE name = ?");
    if (!s) return std::move(s).error();
    FERRY_TRY((*s)->bind(1, m.partitions).bind(2, m.name).run());
    if (sqlite3_changes(db_.raw()) == 0) return not_found("topic " + m.name + " does not exist");
    return {};
  }

  Status operator()(const Mutation::SetTopicId& m) {
    auto s = db_.cached("UPDATE topics SET topic_id = ? WHERE name = ?");
    if (!s) return std::move(s).error();
    FERRY_TRY((*s)->bind(1, m.topic_id).bind(2, m.name).run());
    if (sqlite3_changes(db_.raw()) == 0) return not_found("topic " + m.name + " does not exist");
    return {};
  }

  Status operator()(const Mutation::AlterConfigs& m) {
    FERRY_TRY(require_topic(m.name));
    FERRY_TRY(put_configs(m.name, m.set));
    for (const auto& key : m.remove) {
      auto s = db_.cached("DELETE FROM topic_configs WHERE topic = ? AND key = ?");
      if (!s) return std::move(s).error();
      FERRY_TRY((*s)->bind(1, m.name).bind(2, key).run());
    }
    return {};
  }

  Status operator()(const Mutation::CommitOffsets& m) {
    for (const auto& o : m.offsets) {
      auto s = db_.cached(
          "INSERT INTO group_offsets (group_id, topic, partition, committed_offset, leader_epoch,"
          " metadata, commit_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"
          " ON CONFLICT (group_id, topic, partition) DO UPDATE SET"
          " committed_offset = excluded.committed_offset, leader_epoch = excluded.leader_epoch,"
          " metadata = excluded.metadata, commit_ms = excluded.commit_ms");
      if (!s) return std::move(s).error();
      (*s)->bind(1, m.group).bind(2, o.topic).bind(3, o.partition.value());
      (*s)->bind(4, o.offset.value()).bind(5, o.leader_epoch.value()).bind(6, o.metadata);
      FERRY_TRY((*s)->bind(7, o.commit_ms).run());
    }
    return {};
  }

  Status operator()(const Mutation::DeleteGroup& m) {
    return exec_named("DELETE FROM group_offsets WHERE group_id = ?", m.group);
  }

  Status operator()(const Mutation::DeleteOffsets& m) {
    auto s =
        db_.cached("DELETE FROM group_offsets WHERE group_id = ? AND topic = ? AND partition = ?");
    if (!s) return std::move(s).error();
    return (*s)->bind(1, m.group).bind(2, m.topic).bind(3, m.partition.value()).run();
  }

  Status operator()(const Mutation::PutProducerSnapshot& m) {
    // A snapshot that lost the race with its topic's deletion is dropped, not left behind.
    {
      auto exists = db_.cached("SELECT 1 FROM topics WHERE name = ?");
      if (!exists) return std::move(exists).error();
      auto row = (*exists)->bind(1, m.topic).step();
      if (!row) return std::move(row).error();
      if (!*row) return {};
    }
    auto del = db_.cached("DELETE FROM producer_state WHERE topic = ? AND partition = ?");
    if (!del) return std::move(del).error();
    FERRY_TRY((*del)->bind(1, m.topic).bind(2, m.partition.value()).run());
    auto s = db_.cached(
        "INSERT INTO producer_state (topic, partition, producer_id, producer_epoch,"
        " last_sequence, last_offset, timestamp_ms, batches) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s) return std::move(s).error();
    for (const ProducerStateRecord& p : m.producers) {
      (*s)->bind(1, m.topic).bind(2, m.partition.value()).bind(3, p.producer_id.value());
      (*s)->bind(4, p.producer_epoch).bind(5, p.last_sequence).bind(6, p.last_offset.value());
      FERRY_TRY((*s)->bind(7, p.timestamp_ms).bind_blob(8, p.batches).run());
      (*s)->reset();
    }
    auto off = db_.cached(
        "INSERT OR REPLACE INTO producer_snapshots (topic, partition, offset) VALUES (?, ?, ?)");
    if (!off) return std::move(off).error();
    return (*off)->bind(1, m.topic).bind(2, m.partition.value()).bind(3, m.offset.value()).run();
  }

  Status operator()(const Mutation::PutMirrorCheckpoint& m) {
    return put_mirror_checkpoint(db_, m.checkpoint);
  }

  Status operator()(const Mutation::PutMirrorProducerId& m) {
    return put_mirror_producer_id(db_, m.id);
  }

  Status operator()(const Mutation::Apply& m) { return m.apply(db_); }

  Status operator()(const Mutation::ReserveProducerIds& m) {
    if (m.count <= 0) return Error(Errc::invalid_argument, "reserve at least one producer id");
    auto next = db_.query_int("SELECT next_producer_id FROM producer_ids WHERE singleton = 1");
    if (!next) return std::move(next).error();
    auto s = db_.cached("UPDATE producer_ids SET next_producer_id = ? WHERE singleton = 1");
    if (!s) return std::move(s).error();
    FERRY_TRY((*s)->bind(1, *next + m.count).run());
    if (m.first) *m.first = ProducerId(*next);
    return {};
  }

  Status operator()(const Mutation::PutScramCredential& m) {
    return apply_put_scram_credential(db_, m.credential);
  }

  Status operator()(const Mutation::DeleteScramCredential& m) {
    return apply_delete_scram_credential(db_, m.user, m.mechanism);
  }

 private:
  Status exec_named(const char* sql, const std::string& arg) {
    auto s = db_.cached(sql);
    if (!s) return std::move(s).error();
    return (*s)->bind(1, arg).run();
  }
  Status require_topic(const std::string& name) {
    auto s = db_.cached("SELECT 1 FROM topics WHERE name = ?");
    if (!s) return std::move(s).error();
    auto row = (*s)->bind(1, name).step();
    if (!row) return std::move(row).error();
    return *row ? Status{} : not_found("topic " + name + " does not exist");
  }
  Status put_configs(const std::string& topic, const std::map<std::string, std::string>& kv) {
    for (const auto& [k, v] : kv) {
      auto s =
          db_.cached("INSERT OR REPLACE INTO topic_configs (topic, key, value) VALUES (?, ?, ?)");
      if (!s) return std::move(s).error();
      FERRY_TRY((*s)->bind(1, topic).bind(2, k).bind(3, v).run());
    }
    return {};
  }
  Db& db_;
};

}  // namespace

struct MetaStore::CommitJob {
  uv_work_t req{};
  MetaStore* store = nullptr;
  std::vector<Submission> batch;
};

MetaStore::MetaStore(Db writer, Db reader, uv_loop_t* loop, int version, platform::FileSystem& fs)
    : writer_(std::move(writer)),
      reader_(std::move(reader)),
      loop_(loop),
      version_(version),
      fs_(&fs) {}

MetaStore::~MetaStore() {
  assert(!job_in_flight_ && "destroy a MetaStore only after close() completed");
}

Result<std::unique_ptr<MetaStore>> MetaStore::open(const std::string& path, uv_loop_t* loop,
                                                   std::span<const Migration> migrations,
                                                   platform::FileSystem& fs) {
  auto writer = Db::open(path, fs);
  if (!writer) return std::move(writer).error();
  // WAL: readers on the loop never block the writer. synchronous=FULL: a commit acknowledged to
  // a client (an offset commit) survives power loss, not only a process crash.
  FERRY_TRY(writer->exec("PRAGMA journal_mode = WAL"));
  FERRY_TRY(writer->exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON"));
  auto version = migrate(*writer, migrations);
  if (!version) return std::move(version).error();
  auto reader = Db::open(path, fs);
  if (!reader) return std::move(reader).error();
  FERRY_TRY(reader->exec("PRAGMA query_only = ON"));
  return std::unique_ptr<MetaStore>(
      new MetaStore(std::move(writer).value(), std::move(reader).value(), loop, *version, fs));
}

void MetaStore::commit_once(Db& db, const std::vector<Submission*>& batch) {
  Status begin = db.exec("BEGIN IMMEDIATE");
  if (!begin) {
    for (auto* s : batch) s->result = begin;
    return;
  }
  Applier apply(db);
  for (auto* s : batch) {
    s->result = db.exec("SAVEPOINT submission");
    for (const auto& m : s->mutations) {
      if (!s->result) break;
      s->result = std::visit(apply, m.op);
    }
    if (!s->result) (void)db.exec("ROLLBACK TO submission");
    (void)db.exec("RELEASE submission");
  }
  if (Status st = db.exec("COMMIT"); !st) {
    (void)db.exec("ROLLBACK");
    for (auto* s : batch) {
      if (s->result) s->result = st;
    }
  }
}

// Thread pool (or inline): one transaction for the batch; submissions that failed because the
// disk is full are tried once more after the space reserve was deleted.
void MetaStore::commit(Db& db, std::vector<Submission>& batch, SpaceReserve* reserve) {
  std::vector<Submission*> all;
  for (auto& s : batch) all.push_back(&s);
  commit_once(db, all);
  std::vector<Submission*> full;
  for (auto* s : all) {
    if (!s->result && s->result.error().code() == Errc::no_space) full.push_back(s);
  }
  if (full.empty() || reserve == nullptr || !reserve->release()) return;
  for (auto* s : full) s->result = Status{};
  commit_once(db, full);
}

bool MetaStore::SpaceReserve::release() {
  if (!fs->exists(path)) return false;
  if (!fs->remove_file_durable(path)) return false;
  released.store(true);
  return true;
}

void MetaStore::set_space_reserve(std::string path, uint64_t bytes) {
  reserve_ = std::make_unique<SpaceReserve>();
  reserve_->path = std::move(path);
  reserve_->bytes = bytes;
  reserve_->fs = fs_;
  if (fs_->exists(reserve_->path)) return;
  reserve_->released.store(true);
  restore_space_reserve();
}

bool MetaStore::space_reserve_released() const noexcept {
  return reserve_ && reserve_->released.load();
}

void MetaStore::restore_space_reserve() {
  if (!reserve_ || !reserve_->released.load() || job_in_flight_ || closed_) return;
  auto space = fs_->free_space(fs_->exists(reserve_->path) ? reserve_->path : writer_.path());
  if (!space || space->available_bytes < 2 * reserve_->bytes) return;
  // Written, not fallocated: every file system then really holds the blocks for us.
  const std::string tmp = reserve_->path + ".tmp";
  Status st;
  {
    auto f = fs_->open(tmp, platform::File::Mode::create);
    if (!f) {
      st = std::move(f).error();
    } else {
      std::vector<std::byte> zeros(64 << 10);
      for (uint64_t at = 0; st && at < reserve_->bytes; at += zeros.size()) {
        auto n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), reserve_->bytes - at));
        st = f->pwrite_all(std::span(zeros).first(n), at);
        if (st) flash::count_written(flash::WriteKind::checkpoint, n);
      }
      if (st) st = f->sync();
    }
  }
  if (st) st = fs_->rename_durable(tmp, reserve_->path);
  if (!st) {
    (void)fs_->remove_file_durable(tmp);
    FERRY_LOG(warn, "meta", "cannot create the space reserve %s: %s", reserve_->path.c_str(),
              st.error().to_string().c_str());
    return;
  }
  reserve_->released.store(false);
  FERRY_LOG(info, "meta", "space reserve %s in place (%llu bytes)", reserve_->path.c_str(),
            static_cast<unsigned long long>(reserve_->bytes));
}

void MetaStore::submit(std::vector<Mutation> mutations, std::function<void(Status)> done) {
  assert(!closed_);
  queue_.push_back(Submission{std::move(mutations), std::move(done), Status{}});
  if (loop_ == nullptr) {
    std::vector<Submission> batch;
    batch.swap(queue_);
    commit(writer_, batch, reserve_.get());
    ++transactions_;
    for (auto& s : batch) {
      if (s.done) s.done(s.result);
    }
    return;
  }
  if (!job_in_flight_) start_job();
}

Status MetaStore::submit_sync(std::vector<Mutation> mutations) {
  assert(!job_in_flight_ && queue_.empty() && "submit_sync while writes are queued");
  std::vector<Submission> batch;
  batch.push_back(Submission{std::move(mutations), {}, Status{}});
  commit(writer_, batch, reserve_.get());
  ++transactions_;
  return batch.front().result;
}

void MetaStore::start_job() {
  assert(!job_in_flight_ && "one commit job at a time: it owns the writer connection");
  auto job = std::make_unique<CommitJob>();
  job->store = this;
  job->batch.swap(queue_);
  job->req.data = job.get();
  job_in_flight_ = true;
  int rc = uv_queue_work(
      loop_, &job->req,
      [](uv_work_t* req) {  // thread pool: the writer connection is this job's alone
        auto* j = static_cast<CommitJob*>(req->data);
        commit(j->store->writer_, j->batch, j->store->reserve_.get());
      },
      [](uv_work_t* req, int) {  // loop
        std::unique_ptr<CommitJob> j(static_cast<CommitJob*>(req->data));
        j->store->finish_job(std::move(j));
      });
  if (rc != 0) {
    job_in_flight_ = false;
    Error e(Errc::io, std::string("uv_queue_work: ") + uv_strerror(rc));
    for (auto& s : job->batch) {
      if (s.done) s.done(e);
    }
    return;
  }
  job.release();
}

void MetaStore::finish_job(std::unique_ptr<CommitJob> job) {
  job_in_flight_ = false;
  ++transactions_;
  for (auto& s : job->batch) {
    if (!s.result) {
      FERRY_LOG(debug, "meta", "submission failed: %s", s.result.error().to_string().c_str());
    }
    if (s.done) s.done(s.result);
  }
  // A callback above may have submitted, which started the next job already: the writer
  // connection is that job's now, and a second job (or the closing checkpoint) on it at the same
  // time would interleave two transactions on one connection from two threads.
  if (job_in_flight_) return;
  if (!queue_.empty()) {
    start_job();
  } else if (closed_ && on_closed_) {
    auto done = std::move(on_closed_);
    done(close_now());
  }
}

Status MetaStore::close_now() {
  reader_.close();  // first: an open reader would make the TRUNCATE checkpoint wait
  Status st = checkpoint();
  if (!st && st.error().code() == Errc::no_space && reserve_ && reserve_->release()) {
    st = checkpoint();
  }
  if (!st && st.error().code() == Errc::no_space) {
    // Every commit is durable in the WAL, which the next open folds in: not a failed close.
    FERRY_LOG(warn, "meta", "%s: the disk is full, the WAL is checkpointed at the next start",
              writer_.path().c_str());
    st = Status{};
  }
  writer_.close();
  return st;
}

Status MetaStore::checkpoint() {
  Status st;
  {
    auto s = writer_.prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!s) {
      st = std::move(s).error();
    } else if (auto row = s->step(); !row) {
      st = std::move(row).error();
    } else if (*row && s->col_int(0) != 0) {
      st = Error(Errc::io, writer_.path() + ": WAL checkpoint was blocked by a reader");
    }
  }  // the statement is finalized before the connection closes
  return st;
}

void MetaStore::close(std::function<void(Status)> done) {
  closed_ = true;
  if (job_in_flight_ || !queue_.empty()) {
    on_closed_ = done ? std::move(done) : [](Status) {};
    if (!job_in_flight_) start_job();
    return;
  }
  Status st = close_now();
  if (done) done(st);
}

// ---- Reads -------------------------------------------------------------------------------

Result<std::vector<TopicRecord>> MetaStore::list_topics() {
  std::vector<TopicRecord> out;
  auto s = reader_.cached(
      "SELECT t.name, t.partitions, t.created_ms, c.key, c.value, t.topic_id FROM topics t"
      " LEFT JOIN topic_configs c ON c.topic = t.name ORDER BY t.name, c.key");
  if (!s) return std::move(s).error();
  for (;;) {
    auto row = (*s)->step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    std::string name = (*s)->col_text(0);
    if (out.empty() || out.back().name != name) {
      TopicRecord t;
      t.name = name;
      t.partitions = static_cast<int32_t>((*s)->col_int(1));
      t.created_ms = (*s)->col_int(2);
      t.topic_id = (*s)->col_text(5);
      out.push_back(std::move(t));
    }
    if (sqlite3_column_type((*s)->raw(), 3) != SQLITE_NULL) {
      out.back().configs[(*s)->col_text(3)] = (*s)->col_text(4);
    }
  }
  return out;
}

Result<std::optional<TopicRecord>> MetaStore::get_topic(const std::string& name) {
  auto s = reader_.cached("SELECT partitions, created_ms, topic_id FROM topics WHERE name = ?");
  if (!s) return std::move(s).error();
  auto row = (*s)->bind(1, name).step();
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<TopicRecord>();
  TopicRecord t;
  t.name = name;
  t.partitions = static_cast<int32_t>((*s)->col_int(0));
  t.created_ms = (*s)->col_int(1);
  t.topic_id = (*s)->col_text(2);
  auto c = reader_.cached("SELECT key, value FROM topic_configs WHERE topic = ? ORDER BY key");
  if (!c) return std::move(c).error();
  (*c)->bind(1, name);
  for (;;) {
    auto r = (*c)->step();
    if (!r) return std::move(r).error();
    if (!*r) break;
    t.configs[(*c)->col_text(0)] = (*c)->col_text(1);
  }
  return std::optional<TopicRecord>(std::move(t));
}

Result<std::vector<std::string>> MetaStore::list_groups() {
  auto s = reader_.cached("SELECT DISTINCT group_id FROM group_offsets ORDER BY group_id");
  if (!s) return std::move(s).error();
  std::vector<std::string> out;
  for (;;) {
    auto row = (*s)->step();
    if (!row) return std::move(row).error();
    if (!*row) return out;
    out.push_back((*s)->col_text(0));
  }
}

namespace {
OffsetCommit offset_from_row(const Stmt& s) {
  OffsetCommit o;
  o.topic = s.col_text(0);
  o.partition = PartitionId(static_cast<int32_t>(s.col_int(1)));
  o.offset = Offset(s.col_int(2));
  o.leader_epoch = LeaderEpoch(static_cast<int32_t>(s.col_int(3)));
  o.metadata = s.col_text(4);
  o.commit_ms = s.col_int(5);
  return o;
}
}  // namespace

Result<std::vector<OffsetCommit>> MetaStore::committed_offsets(const std::string& group) {
  auto s = reader_.cached(
      "SELECT topic, partition, committed_offset, leader_epoch, metadata, commit_ms"
      " FROM group_offsets WHERE group_id = ? ORDER BY topic, partition");
  if (!s) return std::move(s).error();
  (*s)->bind(1, group);
  std::vector<OffsetCommit> out;
  for (;;) {
    auto row = (*s)->step();
    if (!row) return std::move(row).error();
    if (!*row) return out;
    out.push_back(offset_from_row(**s));
  }
}

Result<std::optional<OffsetCommit>> MetaStore::committed_offset(const std::string& group,
                                                                const std::string& topic,
                                                                PartitionId p) {
  auto s = reader_.cached(
      "SELECT topic, partition, committed_offset, leader_epoch, metadata, commit_ms"
      " FROM group_offsets WHERE group_id = ? AND topic = ? AND partition = ?");
  if (!s) return std::move(s).error();
  auto row = (*s)->bind(1, group).bind(2, topic).bind(3, p.value()).step();
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<OffsetCommit>();
  return std::optional<OffsetCommit>(offset_from_row(**s));
}

Result<ProducerId> MetaStore::producer_id_limit() {
  auto next = reader_.query_int("SELECT next_producer_id FROM producer_ids WHERE singleton = 1");
  if (!next) return std::move(next).error();
  return ProducerId(*next);
}

Result<std::optional<Offset>> MetaStore::producer_snapshot_offset(const std::string& topic,
                                                                  PartitionId p) {
  auto s =
      reader_.cached("SELECT offset FROM producer_snapshots WHERE topic = ? AND partition = ?");
  if (!s) return std::move(s).error();
  auto row = (*s)->bind(1, topic).bind(2, p.value()).step();
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<Offset>();
  return std::optional<Offset>(Offset((*s)->col_int(0)));
}

Result<std::vector<ProducerStateRecord>> MetaStore::producer_states(const std::string& topic,
                                                                    PartitionId p) {
  auto s = reader_.cached(
      "SELECT producer_id, producer_epoch, last_sequence, last_offset, timestamp_ms, batches"
      " FROM producer_state WHERE topic = ? AND partition = ? ORDER BY producer_id");
  if (!s) return std::move(s).error();
  (*s)->bind(1, topic).bind(2, p.value());
  std::vector<ProducerStateRecord> out;
  for (;;) {
    auto row = (*s)->step();
    if (!row) return std::move(row).error();
    if (!*row) return out;
    ProducerStateRecord r;
    r.topic = topic;
    r.partition = p;
    r.producer_id = ProducerId((*s)->col_int(0));
    r.producer_epoch = static_cast<int16_t>((*s)->col_int(1));
    r.last_sequence = static_cast<int32_t>((*s)->col_int(2));
    r.last_offset = Offset((*s)->col_int(3));
    r.timestamp_ms = (*s)->col_int(4);
    r.batches = (*s)->col_text(5);
    out.push_back(std::move(r));
  }
}

Result<std::optional<Offset>> MetaStore::mirror_checkpoint(const std::string& mirror,
                                                           const std::string& topic,
                                                           PartitionId p) {
  auto s = reader_.cached(
      "SELECT source_offset FROM mirror_checkpoints WHERE mirror = ? AND topic = ?"
      " AND partition = ?");
  if (!s) return std::move(s).error();
  auto row = (*s)->bind(1, mirror).bind(2, topic).bind(3, p.value()).step();
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<Offset>();
  return std::optional<Offset>(Offset((*s)->col_int(0)));
}

}  // namespace ferry::meta
