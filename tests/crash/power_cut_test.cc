// Power-loss test: a real broker on the fault-injecting FileSystem is driven through appends
// (acks=all and acks=1), segment rolls, retention, topic creation and deletion, idempotent
// producers and offset commits; the power is cut at a random operation; a new broker is started
// on what survived and checked against every acknowledgement (see README.md for the exact
// checks). Seeded: FERRY_POWER_SEED picks the seed (printed on failure), FERRY_POWER_CUTS the
// number of cuts.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "platform/fault_fs.h"
#include "protocol/record_batch.h"
#include "unit/broker/broker_fixture.h"

namespace ferry::broker::test {
namespace {

using namespace ferry::protocol;
using platform::FaultFileSystem;

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

// A batch's identity in the log: its bytes from the magic byte on (the base offset and the
// partition leader epoch before it are the broker's to set).
std::string payload_of(std::span<const std::byte> batch) {
  return std::string(reinterpret_cast<const char*>(batch.data()) + 16, batch.size() - 16);
}

struct PartitionModel {
  std::set<std::string> sent;               // every batch sent (payloads)
  std::map<int64_t, std::string> assigned;  // base offset -> payload, from any ok response
  std::vector<std::pair<int64_t, std::string>> acked_all;  // acks=all acknowledgements
  bool retention_ran = false;
};

struct CommitModel {
  std::optional<int64_t> last_acked;
  std::vector<int64_t> unacked_since;  // sent after the last acknowledged one
};

struct TopicModel {
  bool acked_exists = false;    // the last acknowledged create/delete says so
  bool known = false;           // some create/delete was acknowledged
  bool pending_change = false;  // a create/delete was sent after it without an answer
};

class PowerCutTest : public BrokerFixture {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    loop_ready_ = true;
  }

  Status start_on_fault_fs() {
    config::BrokerConfig cfg;
    cfg.data_dir = "/power/data";
    cfg.listen = {"127.0.0.1", 0};
    cfg.advertised = {"127.0.0.1", 0};
    // Batches stored as sent: the check below reads each stored batch's payload as produced.
    cfg.topic_defaults["compression.type"] = "producer";
    node_ = std::make_unique<app::Node>(&loop_, cfg, Clock::system(), fs_);
    auto st = node_->start();
    broker_ = node_->has_broker() ? &node_->broker() : nullptr;
    return st;
  }

  // Stops the broker whatever its state (after a cut its shutdown reports errors).
  void stop_any() {
    conns_.clear();
    if (!node_) return;
    bool done = false;
    node_->shutdown([&](Status) { done = true; });
    run_until([&] { return done; });
    broker_ = nullptr;
    node_.reset();
    for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  }

  ProduceResponse::Topic::Partition produce(const std::string& topic, int32_t p,
                                            const std::vector<std::byte>& b, int16_t acks) {
    ProduceRequest req;
    req.acks = acks;
    req.timeout_ms = 5000;
    ProduceRequest::Topic t;
    t.name = topic;
    t.partition_data.push_back({p, RecordsRef{std::span<const std::byte>(b)}});
    req.topic_data.push_back(t);
    auto resp = call<ProduceResponse>(ApiKey::produce, 8, req);
    if (resp.responses.empty() || resp.responses[0].partition_responses.empty()) {
      ProduceResponse::Topic::Partition none;
      none.error_code = -1;
      return none;
    }
    return resp.responses[0].partition_responses[0];
  }

  std::vector<std::byte> batch(const std::string& tag, size_t bytes, int64_t pid = -1,
                               int32_t seq = -1) {
    std::string value = tag;
    if (value.size() < bytes) value.resize(bytes, '.');
    RecordInput r{std::nullopt, value, Clock::system().now_ms(), {}};
    BuildOptions o;
    if (pid >= 0) {
      o.producer_id = ProducerId(pid);
      o.producer_epoch = 0;
      o.base_sequence = seq;
    }
    return build_batch(std::span<const RecordInput>(&r, 1), o).value();
  }

  int16_t commit(int32_t p, int64_t offset) {
    OffsetCommitRequest c;
    c.group_id = "g";
    c.generation_id_or_member_epoch = -1;
    OffsetCommitRequest::Topic t;
    t.name = "t";
    OffsetCommitRequest::Topic::Partition cp;
    cp.partition_index = p;
    cp.committed_offset = offset;
    t.partitions.push_back(cp);
    c.topics.push_back(t);
    auto r = call<OffsetCommitResponse>(ApiKey::offset_commit, 7, c);
    if (r.topics.empty() || r.topics[0].partitions.empty()) return -1;
    return r.topics[0].partitions[0].error_code;
  }

  int64_t fetch_commit(int32_t p) {
    OffsetFetchRequest f;
    f.group_id = "g";
    f.topics = std::vector<OffsetFetchRequest::Topic>{{"t", {p}}};
    auto r = call<OffsetFetchResponse>(ApiKey::offset_fetch, 5, f);
    if (r.topics.empty() || r.topics[0].partitions.empty()) return -2;
    return r.topics[0].partitions[0].committed_offset;
  }

  // One workload until its end or the cut; fills the models.
  void workload(std::mt19937_64& rng, int steps) {
    auto pick = [&](uint64_t n) { return rng() % n; };
    auto created = create_topic("t", 2, {{"segment.ms", "1"}, {"retention.ms", "-1"}});
    t_exists_ = !created.topics.empty() && created.topics[0].error_code == 0 && !fs_.is_cut();
    if (fs_.is_cut()) return;
    created = create_topic("r", 1, {{"segment.ms", "1"}, {"retention.bytes", "1500"}});
    r_exists_ = !created.topics.empty() && created.topics[0].error_code == 0 && !fs_.is_cut();
    if (fs_.is_cut()) return;
    {
      InitProducerIdRequest req;
      req.transaction_timeout_ms = 60000;
      auto r = call<InitProducerIdResponse>(ApiKey::init_producer_id, 1, req);
      if (r.error_code == 0 && !fs_.is_cut()) pid_ = r.producer_id;
    }
    int32_t seq = 0;
    for (int step = 0; step < steps && !fs_.is_cut(); ++step) {
      const std::string tag = "s" + std::to_string(step) + "-";
      const uint64_t kind = pick(100);
      if (kind < 50) {  // plain produce, acks=all or acks=1
        const bool r_topic = kind >= 42;
        const std::string topic = r_topic ? "r" : "t";
        const auto p = static_cast<int32_t>(r_topic ? 0 : pick(2));
        const int16_t acks = (kind % 3 == 0) ? 1 : -1;
        auto b = batch(tag + topic, 20 + static_cast<size_t>(pick(900)));
        auto& m = parts_[{topic, p}];
        m.sent.insert(payload_of(b));
        auto resp = produce(topic, p, b, acks);
        if (resp.error_code == 0 && !fs_.is_cut()) {
          m.assigned[resp.base_offset] = payload_of(b);
          if (acks == -1) m.acked_all.emplace_back(resp.base_offset, payload_of(b));
        }
      } else if (kind < 62) {  // idempotent produce to t/0, acks=all
        if (pid_ < 0) continue;
        auto b = batch(tag + "idem", 20 + static_cast<size_t>(pick(300)), pid_, seq);
        auto& m = parts_[{"t", 0}];
        m.sent.insert(payload_of(b));
        auto resp = produce("t", 0, b, -1);
        if (resp.error_code == 0 && !fs_.is_cut()) {
          m.assigned[resp.base_offset] = payload_of(b);
          m.acked_all.emplace_back(resp.base_offset, payload_of(b));
          last_idem_ = {b, resp.base_offset};
          ++seq;
        } else {
          ++seq;  // its fate is unknown: later sequences may be out of order, which is fine
        }
      } else if (kind < 80) {  // offset commit
        const auto p = static_cast<int32_t>(pick(2));
        const auto offset = static_cast<int64_t>(pick(1000));
        auto& c = commits_[p];
        const int16_t ec = fs_.is_cut() ? -1 : commit(p, offset);
        const bool cut = fs_.is_cut();
        if (debug_)
          std::fprintf(stderr, "commit t-%d %lld -> %d cut %d (ops %llu)\n", p,
                       static_cast<long long>(offset), ec, cut,
                       static_cast<unsigned long long>(fs_.op_count()));
        if (ec == 0 && !cut) {
          c.last_acked = offset;
          c.unacked_since.clear();
        } else {
          c.unacked_since.push_back(offset);
        }
      } else if (kind < 88) {  // create or delete a topic
        const std::string name = "x" + std::to_string(pick(3));
        auto& tm = topics_[name];
        bool ok;
        bool create = !tm.acked_exists;
        if (create) {
          auto r = create_topic(name, 1);
          ok = !r.topics.empty() && r.topics[0].error_code == 0;
        } else {
          DeleteTopicsRequest del;
          del.topic_names = {name};
          auto r = call<DeleteTopicsResponse>(ApiKey::delete_topics, 3, del);
          ok = !r.responses.empty() && r.responses[0].error_code == 0;
        }
        if (ok && !fs_.is_cut()) {
          tm.known = true;
          tm.acked_exists = create;
          tm.pending_change = false;
        } else {
          tm.pending_change = true;
        }
      } else {  // retention of r (or a whole housekeeping pass: rolls, retention, snapshots)
        if (housekeeping_) {
          broker_->housekeeping();
        } else if (auto log = broker_->topics().partition("r", 0)) {
          (void)log->log().apply_retention();
        }
        parts_[{"r", 0}].retention_ran = true;
      }
    }
  }

  // Checks the surviving state; returns the first violation, or "".
  std::string check() {
    std::string out;
    auto fail = [&](const std::string& why) {
      if (out.empty()) out = why;
    };
    for (auto& [key, m] : parts_) {
      const auto& [topic, p] = key;
      const bool created = topic == "t" ? t_exists_ : r_exists_;
      auto log = broker_->topics().partition(topic, p);
      if (!log) {
        if (created) fail(topic + "-" + std::to_string(p) + ": acknowledged topic is missing");
        continue;
      }
      const int64_t start = log->log_start_offset().value();
      const int64_t end = log->log_end_offset().value();
      std::map<int64_t, std::string> found;
      std::set<std::string> seen;
      int64_t at = start;
      while (at < end) {
        auto r = log->read(Offset(at), 1 << 20);
        if (!r) {
          fail(topic + ": read at " + std::to_string(at) + ": " + r.error().to_string());
          break;
        }
        std::span<const std::byte> data(r->data);
        while (!data.empty()) {
          BatchView v(data);
          const size_t size = batch_layout::kLogOverhead + static_cast<size_t>(v.batch_length());
          const std::string payload = payload_of(data.first(size));
          const int64_t base = v.base_offset().value();
          if (base != at) fail(topic + ": offset gap or overlap at " + std::to_string(at));
          if (!m.sent.count(payload))
            fail(topic + ": a batch nobody sent at " + std::to_string(base));
          if (!seen.insert(payload).second)
            fail(topic + ": a batch stored twice at " + std::to_string(base));
          if (auto it = m.assigned.find(base); it != m.assigned.end() && it->second != payload)
            fail(topic + ": offset " + std::to_string(base) +
                 " holds another batch than acknowledged");
          found[base] = payload;
          at = v.last_offset().value() + 1;
          data = data.subspan(size);
        }
        if (r->next_offset.value() <= at - 1 && r->data.empty()) break;
        at = std::max(at, r->next_offset.value());
      }
      int64_t acked_end = -1;
      for (const auto& [offset, payload] : m.acked_all) {
        acked_end = std::max(acked_end, offset + 1);
        if (offset < start) {
          if (!m.retention_ran)
            fail(topic + "-" + std::to_string(p) + ": acknowledged offset " +
                 std::to_string(offset) + " below the log start " + std::to_string(start));
          continue;
        }
        auto it = found.find(offset);
        if (it == found.end())
          fail(topic + "-" + std::to_string(p) + ": acknowledged acks=all batch at offset " +
               std::to_string(offset) + " lost (log end " + std::to_string(end) + ")");
        else if (it->second != payload)
          fail(topic + "-" + std::to_string(p) + ": acknowledged batch at " +
               std::to_string(offset) + " has other bytes");
      }
      // Whatever got an offset below an acknowledged acks=all batch was synced with it.
      for (const auto& [offset, payload] : m.assigned) {
        if (offset >= acked_end || offset < start) continue;
        if (!found.count(offset))
          fail(topic + "-" + std::to_string(p) + ": batch at " + std::to_string(offset) +
               " below the acknowledged offset " + std::to_string(acked_end) + " lost");
      }
    }
    for (auto& [p, c] : commits_) {
      const int64_t got = fetch_commit(p);
      std::set<int64_t> allowed(c.unacked_since.begin(), c.unacked_since.end());
      allowed.insert(c.last_acked.value_or(-1));
      if (!allowed.count(got))
        fail("group g t-" + std::to_string(p) + ": committed offset " + std::to_string(got) +
             " is not the acknowledged " + std::to_string(c.last_acked.value_or(-1)));
    }
    for (auto& [name, tm] : topics_) {
      if (!tm.known || tm.pending_change) continue;
      auto rec = broker_->meta().get_topic(name);
      const bool exists = rec && rec->has_value();
      if (exists != tm.acked_exists)
        fail("topic " + name +
             (tm.acked_exists ? ": acknowledged creation lost" : ": acknowledged deletion lost"));
    }
    if (last_idem_ && out.empty()) {  // the producer state recovered: a retry is a duplicate
      auto log = broker_->topics().partition("t", 0);
      const int64_t end = log ? log->log_end_offset().value() : -1;
      auto resp = produce("t", 0, last_idem_->first, -1);
      if (resp.error_code != 0 || resp.base_offset != last_idem_->second)
        fail("idempotent retry of the batch acknowledged at " + std::to_string(last_idem_->second) +
             " answered error " + std::to_string(resp.error_code) + " offset " +
             std::to_string(resp.base_offset));
      if (log && log->log_end_offset().value() != end) fail("idempotent retry was appended again");
    }
    return out;
  }

  void reset_models() {
    parts_.clear();
    commits_.clear();
    topics_.clear();
    last_idem_.reset();
    pid_ = -1;
    t_exists_ = r_exists_ = false;
  }

  FaultFileSystem fs_{1};
  std::map<std::pair<std::string, int32_t>, PartitionModel> parts_;
  std::map<int32_t, CommitModel> commits_;
  std::map<std::string, TopicModel> topics_;
  std::optional<std::pair<std::vector<std::byte>, int64_t>> last_idem_;
  int64_t pid_ = -1;
  bool t_exists_ = false;
  bool r_exists_ = false;
  bool debug_ = env_u64("FERRY_POWER_DEBUG", 0) != 0;
  // Whole housekeeping passes (producer snapshots, offset expiry, space reserve) instead of
  // retention alone. FERRY_POWER_HOUSEKEEPING=1: in every cut, =0: in none; unset: every second
  // cut (set per cut by the test).
  bool housekeeping_ = false;
};

TEST_F(PowerCutTest, AcknowledgedWritesSurviveRandomPowerCuts) {
  const uint64_t seed = env_u64("FERRY_POWER_SEED", 20261204);
  const uint64_t cuts = env_u64("FERRY_POWER_CUTS", 600);
  constexpr int kSteps = 30;
  // Failing I/O after a cut logs a lot; FERRY_POWER_LOG=1 shows it.
  if (env_u64("FERRY_POWER_LOG", 0) == 0) log::set_level(log::Level::off);

  // Calibration: how many counted operations one whole workload takes (with housekeeping
  // passes unless they are off).
  const char* hk = std::getenv("FERRY_POWER_HOUSEKEEPING");
  housekeeping_ = !hk || env_u64("FERRY_POWER_HOUSEKEEPING", 0) != 0;
  std::mt19937_64 rng(seed);
  fs_.reset();
  ASSERT_TRUE(start_on_fault_fs().ok());
  workload(rng, kSteps);
  const uint64_t total_ops = fs_.op_count();
  stop_any();
  ASSERT_GT(total_ops, 10u);

  const char* modes[] = {"drop", "torn", "reorder"};
  for (uint64_t i = 0; i < cuts; ++i) {
    const uint64_t iter_seed = seed * 1000003 + i;
    std::mt19937_64 r(iter_seed);
    fs_.reset();
    reset_models();
    housekeeping_ = hk ? env_u64("FERRY_POWER_HOUSEKEEPING", 0) != 0 : i % 2 == 1;
    const auto mode = static_cast<FaultFileSystem::CutMode>(r() % 3);
    auto started = start_on_fault_fs();
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    const uint64_t at = 1 + r() % total_ops;
    fs_.cut_after(at, mode);
    if (r() % 4 == 0) {  // some runs also see failing writes and syncs before the cut
      fs_.fail_randomly(FaultFileSystem::Op::write, ENOSPC, 0.01);
      fs_.fail_randomly(FaultFileSystem::Op::sync, EIO, 0.01);
    }
    workload(r, kSteps);
    fs_.power_cut(mode);  // if the workload finished first
    stop_any();
    fs_.restart();
    auto st = start_on_fault_fs();
    ASSERT_TRUE(st.ok()) << "recovery failed after a power cut (seed " << seed << ", cut " << i
                         << ", op " << at << ", mode " << modes[static_cast<int>(mode)]
                         << "): " << st.error().to_string();
    const std::string violation = check();
    ASSERT_EQ(violation, "") << "seed " << seed << ", cut " << i << " (FERRY_POWER_SEED=" << seed
                             << " FERRY_POWER_CUTS=" << i + 1 << "), op " << at << " of "
                             << total_ops << ", mode " << modes[static_cast<int>(mode)];
    stop_any();
  }
}

}  // namespace
}  // namespace ferry::broker::test

namespace ferry::meta {
namespace {

// meta.db alone: every offset commit that returned ok survives a cut at any operation.
TEST(PowerCutMeta, CommittedOffsetsSurvive) {
  const uint64_t seed = broker::test::env_u64("FERRY_POWER_SEED", 20261204);
  platform::FaultFileSystem fs(seed);
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 200; ++round) {
    fs.reset();
    ASSERT_TRUE(fs.create_dirs("/m").ok());
    const auto mode = static_cast<platform::FaultFileSystem::CutMode>(rng() % 3);
    std::optional<int64_t> acked;
    {
      uv_loop_t loop;
      uv_loop_init(&loop);
      auto store = MetaStore::open("/m/meta.db", &loop, builtin_migrations(), fs);
      ASSERT_TRUE(store.ok()) << store.error().to_string();
      fs.cut_after(1 + rng() % 200, mode);
      for (int64_t i = 0; i < 40 && !fs.is_cut(); ++i) {
        OffsetCommit c{"t", PartitionId(0), Offset(i), LeaderEpoch(-1), "", 0};
        bool done = false;
        (*store)->submit({Mutation::commit_offsets("g", {c})}, [&](Status st) {
          if (st.ok() && !fs.is_cut()) acked = i;
          done = true;
        });
        while (!done) uv_run(&loop, UV_RUN_ONCE);
        (void)(*store)->committed_offset("g", "t", PartitionId(0));  // the reader, as the broker
      }
      fs.power_cut(mode);
      bool closed = false;
      (*store)->close([&](Status) { closed = true; });
      while (!closed) uv_run(&loop, UV_RUN_ONCE);
      store->reset();
      uv_run(&loop, UV_RUN_NOWAIT);
      uv_loop_close(&loop);
    }
    fs.restart();
    auto store = MetaStore::open("/m/meta.db", nullptr, builtin_migrations(), fs);
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.error().to_string();
    auto got = (*store)->committed_offset("g", "t", PartitionId(0));
    ASSERT_TRUE(got.ok());
    const int64_t value = *got && got->has_value() ? (*got)->offset.value() : -1;
    if (acked) {
      EXPECT_TRUE(value == *acked || value == *acked + 1)
          << "round " << round << " mode " << static_cast<int>(mode) << ": acked " << *acked
          << ", recovered " << value;
    }
  }
}

}  // namespace
}  // namespace ferry::meta
