// Power loss of a gateway while its mirror forwards: a real in-process node on the
// fault-injecting FileSystem (platform/fault_fs.h: a power cut loses everything not fsynced,
// meta.db's WAL included) forwards topic "t" to librdkafka's mock cluster while acks=all and
// acks=1 producers write to it; the power is cut at a random file-system operation, the node
// starts again on what survived, more records are produced (they take the offsets of records
// the cut erased) and the mirror drains. Checked after each cut: the target partitions hold
// exactly the gateway's surviving records, in order, each once (nothing the gateway lost, no
// duplicate), and every record acknowledged with acks=all is on the target once. A mirror that
// forwarded records above the durable offset would leave records on the target the gateway no
// longer holds. FERRY_MIRROR_POWER_CUTS (default 12), FERRY_MIRROR_POWER_SEED.
#include <gtest/gtest.h>

#ifdef FERRY_HAVE_RDKAFKA_MOCK
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "platform/fault_fs.h"
#include "support/test_support.h"
#include "unit/broker/broker_fixture.h"

namespace ferry::mirror {
namespace {

using platform::FaultFileSystem;
using namespace ferry::protocol;

constexpr int32_t kPartitions = 2;

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

class MirrorPowerLoss : public broker::test::BrokerFixture {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    loop_ready_ = true;
  }
  void TearDown() override {
    stop_any();
    BrokerFixture::TearDown();
    drop_target();
  }

  // A fresh mock cluster (3 brokers) with the target topic "t".
  void new_target() {
    drop_target();
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ASSERT_NE(owner_, nullptr) << err;
    mock_ = rd_kafka_mock_cluster_new(owner_, 3);
    ASSERT_NE(mock_, nullptr);
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(mock_);
    ASSERT_EQ(rd_kafka_mock_topic_create(mock_, "t", kPartitions, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void drop_target() {
    if (mock_) rd_kafka_mock_cluster_destroy(mock_);
    if (owner_) rd_kafka_destroy(owner_);
    mock_ = nullptr;
    owner_ = nullptr;
  }

  Status start_on_fault_fs() {
    config::BrokerConfig cfg;
    cfg.data_dir = "/power/data";
    cfg.listen = {"127.0.0.1", 0};
    cfg.advertised = {"127.0.0.1", 0};
    config::MirrorConfig m;
    m.name = "central";
    m.bootstrap_servers = {bootstraps_.substr(0, bootstraps_.find(','))};
    m.topics = {"t"};
    m.linger_ms = 1;  // forwards as soon as a batch may go
    m.request_timeout_ms = 2000;
    m.reconnect_backoff_ms = 10;
    m.reconnect_backoff_max_ms = 50;
    m.max_in_flight = 1;  // the mock checks no sequences
    m.heartbeats_interval_ms = 0;
    cfg.mirrors.push_back(m);
    node_ = std::make_unique<app::Node>(&loop_, cfg, Clock::system(), fs_);
    auto st = node_->start();
    broker_ = node_->has_broker() ? &node_->broker() : nullptr;
    return st;
  }

  // Stops the node whatever its state (after a cut its shutdown reports errors).
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

  // Produces `count` records "<tag>-<i>" to t/p; true when acknowledged before any cut.
  bool produce(int32_t p, const std::string& tag, int count, int16_t acks) {
    std::vector<std::byte> b = ferry::test::make_batch(count, tag);
    ProduceRequest req;
    req.acks = acks;
    req.timeout_ms = 5000;
    ProduceRequest::Topic t;
    t.name = "t";
    t.partition_data.push_back({p, RecordsRef{std::span<const std::byte>(b)}});
    req.topic_data.push_back(t);
    auto resp = call<ProduceResponse>(ApiKey::produce, 8, req);
    return !fs_.is_cut() && !resp.responses.empty() &&
           !resp.responses[0].partition_responses.empty() &&
           resp.responses[0].partition_responses[0].error_code == 0;
  }

  // Runs the loop for about `ms` (the mirror forwards meanwhile).
  void idle(int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    run_until([&] { return std::chrono::steady_clock::now() >= until; }, ms + 100);
  }

  // Before the cut: topic "t" with one acks=all record per partition, forwarded (the mirror
  // finds new topics by polling once a second). False when that did not happen in 15 s.
  bool prepare(const std::string& round) {
    auto created = create_topic("t", kPartitions);
    if (created.topics.empty() || created.topics[0].error_code != 0) return false;
    for (int32_t p = 0; p < kPartitions; ++p) {
      if (!produce(p, round + "w", 1, -1)) return false;
      acked_all_[p].push_back(round + "w-0");
    }
    return wait_target([](int32_t) { return int64_t{1}; }, 15);
  }

  // One workload: produce steps (acks=all and acks=1, 1-4 records each) and pauses in which the
  // mirror forwards; stops at the cut.
  void workload(std::mt19937_64& rng, const std::string& round, int steps) {
    for (int step = 0; step < steps && !fs_.is_cut(); ++step) {
      const uint64_t kind = rng() % 10;
      if (kind < 7) {
        const auto p = static_cast<int32_t>(rng() % kPartitions);
        const int16_t acks = kind < 3 ? int16_t{-1} : int16_t{1};
        const int count = 1 + static_cast<int>(rng() % 4);
        const std::string tag = round + "s" + std::to_string(step);
        const bool acked = produce(p, tag, count, acks);
        for (int i = 0; acked && i < count; ++i) {
          (acks == -1 ? acked_all_ : acked_one_)[p].push_back(tag + "-" + std::to_string(i));
        }
      } else {
        idle(5 + static_cast<int>(rng() % 20));
      }
    }
  }

  // Runs the loop until every target partition p reaches want(p) (or `seconds` pass); the
  // target's ends are left in ends_. Blocking watermark queries between loop slices.
  bool wait_target(const std::function<int64_t(int32_t)>& want, int seconds) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps_.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rd_kafka_t* probe = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    EXPECT_NE(probe, nullptr) << err;
    if (!probe) return false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    bool reached = false;
    for (;;) {
      reached = true;
      for (int32_t p = 0; p < kPartitions; ++p) {
        ends_[p] = target_end(probe, p);
        if (ends_[p] < want(p)) reached = false;
      }
      if (reached || std::chrono::steady_clock::now() >= deadline) break;
      idle(50);
    }
    rd_kafka_destroy(probe);
    return reached;
  }

  // The values of t/p at the gateway, from the log start, in order.
  std::vector<std::string> source_values(int32_t p) {
    std::vector<std::string> out;
    auto part = broker_->topics().partition("t", p);
    if (!part) return out;
    int64_t at = part->log_start_offset().value();
    const int64_t end = part->log_end_offset().value();
    while (at < end) {
      auto r = part->read(Offset(at), 1 << 20);
      EXPECT_TRUE(r.ok());
      if (!r || r->data.empty()) break;
      const int64_t before = at;
      for (const broker::test::FetchedRecord& f : broker::test::fetched_records(r->data)) {
        if (f.offset < at) continue;
        out.push_back(f.value.value_or(""));
        at = f.offset + 1;
      }
      if (at == before) break;
    }
    return out;
  }

  // The target partition's high watermark (-1 when unknown); blocking, off the mirror's way.
  int64_t target_end(rd_kafka_t* probe, int32_t p) {
    int64_t lo = -1;
    int64_t hi = -1;
    if (rd_kafka_query_watermark_offsets(probe, "t", p, &lo, &hi, 500) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return -1;
    }
    return hi;
  }

  // Every value of the target partition up to `end`, read with a librdkafka consumer.
  std::vector<std::string> target_values(int32_t p, int64_t end) {
    std::vector<std::string> out;
    if (end <= 0) return out;
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps_.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "check", err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    EXPECT_NE(c, nullptr) << err;
    if (!c) return out;
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, "t", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 50);
      if (!m) continue;
      bool last = false;
      if (!m->err) {
        out.emplace_back(static_cast<const char*>(m->payload), m->len);
        last = m->offset + 1 >= end;
      }
      rd_kafka_message_destroy(m);
      if (last) break;
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return out;
  }

  // After the restart: waits until every target partition reaches the gateway's log end (or
  // 20 s pass), then compares; returns the first violation or "".
  std::string check(const std::string& round) {
    for (int32_t p = 0; p < kPartitions; ++p) {
      EXPECT_TRUE(produce(p, round + "after", 2, -1));  // reuses offsets the cut erased, if any
      for (int i = 0; i < 2; ++i) acked_all_[p].push_back(round + "after-" + std::to_string(i));
    }
    wait_target(
        [&](int32_t p) {
          auto part = broker_->topics().partition("t", p);
          return part ? part->log_end_offset().value() : int64_t{0};
        },
        20);
    for (int32_t p = 0; p < kPartitions; ++p) {
      const std::vector<std::string> source = source_values(p);
      const std::vector<std::string> target = target_values(p, ends_[p]);
      const std::string where = "t/" + std::to_string(p) + ": ";
      if (target != source) {
        size_t first = 0;
        while (first < source.size() && first < target.size() && source[first] == target[first])
          ++first;
        return where + "the target holds " + std::to_string(target.size()) +
               " records, the gateway " + std::to_string(source.size()) + "; first difference at " +
               std::to_string(first) + ": target " +
               (first < target.size() ? target[first] : "(end)") + ", gateway " +
               (first < source.size() ? source[first] : "(end)");
      }
      std::map<std::string, int> seen;
      for (const std::string& v : target) ++seen[v];
      checked_ += static_cast<int64_t>(target.size());
      for (const std::string& v : acked_one_[p]) erased_ += seen[v] == 0 ? 1 : 0;
      for (const std::string& v : acked_all_[p]) {
        if (seen[v] != 1) {
          return where + "acknowledged (acks=all) record " + v + " is on the target " +
                 std::to_string(seen[v]) + " times";
        }
      }
    }
    return "";
  }

  FaultFileSystem fs_{1};
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* mock_ = nullptr;
  std::string bootstraps_;
  std::map<int32_t, std::vector<std::string>> acked_all_;
  std::map<int32_t, std::vector<std::string>> acked_one_;  // acks=1: not durable when answered
  int64_t ends_[kPartitions] = {};
  int64_t checked_ = 0;  // records compared on the target
  int64_t erased_ = 0;   // acks=1 records the cuts erased at the gateway
};

TEST_F(MirrorPowerLoss, TargetHoldsExactlyTheGatewaysDurableRecords) {
  const uint64_t seed = env_u64("FERRY_MIRROR_POWER_SEED", 20261205);
  const uint64_t cuts = env_u64("FERRY_MIRROR_POWER_CUTS", 12);
  constexpr int kSteps = 40;
  if (env_u64("FERRY_POWER_LOG", 0) == 0) log::set_level(log::Level::off);

  // Calibration: the counted file-system operations of one whole workload.
  std::mt19937_64 rng(seed);
  fs_.reset();
  new_target();
  ASSERT_TRUE(start_on_fault_fs().ok());
  ASSERT_TRUE(prepare("cal")) << "the mirror did not forward to the mock cluster";
  const uint64_t ops_before = fs_.op_count();
  workload(rng, "cal", kSteps);
  const uint64_t total_ops = fs_.op_count() - ops_before;
  stop_any();
  ASSERT_GT(total_ops, 10u);

  const char* modes[] = {"drop", "torn", "reorder"};
  for (uint64_t i = 0; i < cuts; ++i) {
    std::mt19937_64 r(seed * 1000003 + i);
    fs_.reset();
    acked_all_.clear();
    acked_one_.clear();
    new_target();
    const auto mode = static_cast<FaultFileSystem::CutMode>(r() % 3);
    auto started = start_on_fault_fs();
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    const std::string round = "r" + std::to_string(i);
    ASSERT_TRUE(prepare(round)) << "the mirror did not forward to the mock cluster";
    const uint64_t at = 1 + r() % total_ops;
    fs_.cut_after(at, mode);
    workload(r, round, kSteps);
    fs_.power_cut(mode);  // if the workload finished first
    stop_any();
    fs_.restart();
    auto st = start_on_fault_fs();
    ASSERT_TRUE(st.ok()) << "restart after the cut: " << st.error().to_string();
    ASSERT_TRUE(broker_->topics().partition("t", 0)) << "the acknowledged topic is missing";
    const std::string violation = check(round);
    ASSERT_EQ(violation, "") << "seed " << seed << ", cut " << i
                             << " (FERRY_MIRROR_POWER_SEED=" << seed
                             << " FERRY_MIRROR_POWER_CUTS=" << i + 1 << "), op " << at << " of "
                             << total_ops << ", mode " << modes[static_cast<int>(mode)];
    stop_any();
  }
  std::printf(
      "%llu cuts: %lld records compared on the target, %lld acks=1 records erased by "
      "the cuts\n",
      static_cast<unsigned long long>(cuts), static_cast<long long>(checked_),
      static_cast<long long>(erased_));
}

}  // namespace
}  // namespace ferry::mirror
#endif  // FERRY_HAVE_RDKAFKA_MOCK
