// The mirror against librdkafka's mock cluster (3 brokers), an independent Kafka
// implementation that does not deduplicate a non-transactional idempotent producer's batches:
// Produce answers are delayed past the mirror's request timeout after the batches were
// appended (lost responses), and partition leaders move between the mock's brokers while
// batches are being forwarded; exactly once rests on the mirror's reconciliation alone.
#include <gtest/gtest.h>

#ifdef FERRY_HAVE_RDKAFKA_MOCK
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "mirror/service.h"
#include "mirror/status.h"
#include "support/test_support.h"
#include "unit/broker/broker_fixture.h"

namespace ferry::mirror {
namespace {

constexpr int kBatches = 12;
constexpr int kPerBatch = 5;

class MirrorToMockCluster : public broker::test::BrokerFixture {
 protected:
  ~MirrorToMockCluster() override {
    if (mock_) rd_kafka_mock_cluster_destroy(mock_);
    if (owner_) rd_kafka_destroy(owner_);
  }
  void configure(config::BrokerConfig& c) override {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ASSERT_NE(owner_, nullptr) << err;
    mock_ = rd_kafka_mock_cluster_new(owner_, 3);
    ASSERT_NE(mock_, nullptr);
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(mock_);
    ASSERT_EQ(rd_kafka_mock_topic_create(mock_, "t", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    config::MirrorConfig m;
    m.name = "central";
    m.bootstrap_servers = {bootstraps_.substr(0, bootstraps_.find(','))};
    m.topics = {"t"};
    m.request_timeout_ms = 400;
    m.reconnect_backoff_ms = 10;
    m.reconnect_backoff_max_ms = 50;
    m.max_in_flight = 1;  // the mock checks no sequences: keep one request in flight
    c.mirrors.push_back(m);
  }

  // Appends kBatches batches of kPerBatch records to both partitions of "t" and flushes them;
  // record i of batch b of partition p has the value "p<p>b<b>-<i>".
  void fill_topic_t() {
    for (int32_t p = 0; p < 2; ++p) {
      auto part = broker_->topics().partition("t", p);
      ASSERT_TRUE(part);
      for (int b = 0; b < kBatches; ++b) {
        std::vector<std::byte> batch =
            ferry::test::make_batch(kPerBatch, "p" + std::to_string(p) + "b" + std::to_string(b));
        ASSERT_TRUE(part->append(batch).ok());
      }
      part->flush([](Status) {});
    }
  }
  // The values fill_topic_t() wrote to partition p, in order.
  static std::vector<std::string> values_of_topic_t(int32_t p) {
    std::vector<std::string> want;
    for (int b = 0; b < kBatches; ++b) {
      for (int i = 0; i < kPerBatch; ++i) {
        want.push_back("p" + std::to_string(p) + "b" + std::to_string(b) + "-" + std::to_string(i));
      }
    }
    return want;
  }
  // Both partitions' status rows show `total` records forwarded.
  static bool all_forwarded(const std::optional<StatusSnapshot>& s, int64_t total) {
    if (!s || s->rows.size() != 2) return false;
    for (const StatusRow& r : s->rows) {
      if (r.forwarded != total) return false;
    }
    return true;
  }

  std::optional<StatusSnapshot> status_file() {
    std::ifstream in(status_file_path(dir_.path()));
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    auto s = parse_status_file(text.str());
    return s.ok() ? std::optional(*s) : std::nullopt;
  }

  // Every value of the mock's partition, read with a librdkafka consumer.
  std::vector<std::string> target_values(int32_t partition, size_t want, const char* topic = "t") {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps_.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "check", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    EXPECT_NE(c, nullptr) << err;
    std::vector<std::string> out;
    if (!c) return out;
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    // Bounded by time (about 20 s), not by the number of messages polled.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 50);
      if (!m) continue;
      const bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
      if (!m->err) out.emplace_back(static_cast<const char*>(m->payload), m->len);
      rd_kafka_message_destroy(m);
      if (eof && out.size() >= want) break;
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return out;
  }

  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* mock_ = nullptr;
  std::string bootstraps_;
};

TEST_F(MirrorToMockCluster, LostResponsesNeitherLoseNorDuplicate) {
  ASSERT_EQ(create_topic("t", 2).topics.at(0).error_code, 0);
  // Every broker answers its next Produce requests only after 900 ms: the mirror gives up at
  // 400 ms, though the batches were appended.
  for (int32_t broker = 1; broker <= 3; ++broker) {
    rd_kafka_mock_broker_push_request_error_rtts(
        mock_, broker, 0 /* Produce */, 3, RD_KAFKA_RESP_ERR_NO_ERROR, 900,
        RD_KAFKA_RESP_ERR_NO_ERROR, 900, RD_KAFKA_RESP_ERR_NO_ERROR, 900);
  }
  ASSERT_NO_FATAL_FAILURE(fill_topic_t());
  const int64_t total = kBatches * kPerBatch;
  std::optional<StatusSnapshot> s;
  ASSERT_TRUE(run_until(
      [&] {
        s = status_file();
        return all_forwarded(s, total);
      },
      30000))
      << (s && !s->rows.empty() ? s->rows[0].last_error : "no status");
  EXPECT_NE(s->rows[0].last_error.find("REQUEST_TIMED_OUT"), std::string::npos)
      << "the delayed answers timed out: " << s->rows[0].last_error;
  for (int32_t p = 0; p < 2; ++p) {
    EXPECT_EQ(target_values(p, total), values_of_topic_t(p))
        << "partition " << p << ": every record once, in order";
  }
}

// bootstrap.servers with a dead address first: a port bound on 127.0.0.1 but not listening
// (connections are refused), then the mock cluster. The mirror must fall back to the second
// address and forward everything; with only the first address used it never connects.
class MirrorBootstrapFallback : public MirrorToMockCluster {
 protected:
  ~MirrorBootstrapFallback() override {
    if (dead_fd_ >= 0) ::close(dead_fd_);
  }
  void configure(config::BrokerConfig& c) override {
    MirrorToMockCluster::configure(c);
    dead_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(dead_fd_, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ASSERT_EQ(::bind(dead_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(::getsockname(dead_fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    dead_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    config::MirrorConfig& m = c.mirrors.back();
    m.bootstrap_servers.insert(m.bootstrap_servers.begin(), dead_);
  }
  int dead_fd_ = -1;
  std::string dead_;
};

TEST_F(MirrorBootstrapFallback, DeadFirstServerFallsBackToTheNext) {
  ASSERT_EQ(create_topic("t", 2).topics.at(0).error_code, 0);
  ASSERT_NO_FATAL_FAILURE(fill_topic_t());
  const int64_t total = kBatches * kPerBatch;
  std::optional<StatusSnapshot> s;
  ASSERT_TRUE(run_until(
      [&] {
        s = status_file();
        return all_forwarded(s, total);
      },
      15000))
      << "bootstrap.servers = " << dead_ << "," << bootstraps_.substr(0, bootstraps_.find(','))
      << ": " << (s && !s->rows.empty() ? s->rows[0].last_error : "no status");
  for (int32_t p = 0; p < 2; ++p) {
    EXPECT_EQ(target_values(p, total), values_of_topic_t(p))
        << "partition " << p << ": every record once, in order";
  }
}

// The same fixture forwarding topic "lm" (2 partitions, 3 replicas on the mock) with up to 5
// requests in flight per partition while the mock moves both partitions' leaders from broker to
// broker every 50 ms: a batch sent to the new leader while its predecessor was still on its way
// to the old one would land without it, a hole the mock keeps (it checks no sequences).
class MirrorLeaderMoves : public MirrorToMockCluster {
 protected:
  void configure(config::BrokerConfig& c) override {
    MirrorToMockCluster::configure(c);
    ASSERT_EQ(rd_kafka_mock_topic_create(mock_, "lm", 2, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
    c.mirrors.back().topics = {"lm"};
    // The default window: pipelined requests meet the moves (the base fixture keeps one).
    c.mirrors.back().max_in_flight = 5;
  }
};

TEST_F(MirrorLeaderMoves, LeadersMovingDuringForwardingNeitherLoseNorDuplicate) {
  constexpr int kMoveBatches = 150;
  constexpr int kMovePerBatch = 4;
  ASSERT_EQ(create_topic("lm", 2).topics.at(0).error_code, 0);
  std::shared_ptr<broker::Partition> parts[2] = {broker_->topics().partition("lm", 0),
                                                 broker_->topics().partition("lm", 1)};
  ASSERT_TRUE(parts[0] && parts[1]);
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  Clock::time_point next_move = start;
  int appended = 0;
  int moves = 0;
  int32_t leader = 1;
  const int64_t total = kMoveBatches * kMovePerBatch;
  std::optional<StatusSnapshot> s;
  // A thread keeps reading the target's high watermark of partition 0 (blocking calls, off the
  // loop), so that each move can tell whether forwarding was under way.
  char err[256];
  rd_kafka_conf_t* probe_conf = rd_kafka_conf_new();
  rd_kafka_conf_set(probe_conf, "bootstrap.servers", bootstraps_.c_str(), err, sizeof err);
  rd_kafka_t* probe = rd_kafka_new(RD_KAFKA_CONSUMER, probe_conf, err, sizeof err);
  ASSERT_NE(probe, nullptr) << err;
  std::atomic<int64_t> target_hi{-1};
  // Stops and joins the thread (and frees the probe) however the test leaves this scope.
  struct Prober {
    std::atomic<bool> running{true};
    std::thread thread;
    rd_kafka_t* probe = nullptr;
    ~Prober() {
      running.store(false);
      if (thread.joinable()) thread.join();
      if (probe) rd_kafka_destroy(probe);
    }
  } prober;
  prober.probe = probe;
  prober.thread = std::thread([&] {
    while (prober.running.load()) {
      int64_t lo = -1;
      int64_t hi = -1;
      if (rd_kafka_query_watermark_offsets(probe, "lm", 0, &lo, &hi, 200) ==
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        target_hi.store(hi);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  int moved_while_forwarding = 0;
  // Batches arrive at the gateway over about 3 s (one per partition every 20 ms); the leaders
  // move every 50 ms until everything is forwarded.
  ASSERT_TRUE(run_until(
      [&] {
        const Clock::time_point now = Clock::now();
        const int due = static_cast<int>((now - start) / std::chrono::milliseconds(20)) + 1;
        for (; appended < std::min(due, kMoveBatches); ++appended) {
          for (int32_t p = 0; p < 2; ++p) {
            const std::string prefix = "p" + std::to_string(p) + "b" + std::to_string(appended);
            std::vector<std::byte> batch = ferry::test::make_batch(kMovePerBatch, prefix);
            EXPECT_TRUE(parts[p]->append(batch).ok());
            parts[p]->flush([](Status) {});
          }
        }
        s = status_file();
        if (now >= next_move) {
          const int64_t hi = target_hi.load();
          if (hi > 0 && hi < total) {
            ++moved_while_forwarding;  // part of partition 0 is on the target, not all of it
          }

          leader = leader % 3 + 1;
          for (int32_t p = 0; p < 2; ++p) {
            rd_kafka_mock_partition_set_leader(mock_, "lm", p, leader + p > 3 ? 1 : leader + p);
          }
          ++moves;
          next_move = now + std::chrono::milliseconds(50);
        }
        if (s) {  // a stopped partition (a hole or a duplicate found) ends the wait at once
          for (const StatusRow& r : s->rows) {
            if (r.state == "stopped") return true;
          }
        }
        if (appended < kMoveBatches || !s || s->rows.size() != 2) return false;
        for (const StatusRow& r : s->rows) {
          if (r.forwarded != total || r.state != "forwarding") return false;
        }
        return true;
      },
      60000))
      << (s && !s->rows.empty() ? s->rows[0].state + " " + s->rows[0].last_error : "no status");
  for (const StatusRow& r : s->rows) {
    EXPECT_EQ(r.state, "forwarding") << r.topic << "/" << r.partition << ": " << r.last_error;
  }
  EXPECT_GE(moves, 30) << "the leaders moved repeatedly";
  EXPECT_GE(moved_while_forwarding, 5) << "leaders moved while records were being forwarded";
  for (int32_t p = 0; p < 2; ++p) {
    std::vector<std::string> got = target_values(p, static_cast<size_t>(total), "lm");
    std::vector<std::string> want;
    for (int b = 0; b < kMoveBatches; ++b) {
      for (int i = 0; i < kMovePerBatch; ++i) {
        want.push_back("p" + std::to_string(p) + "b" + std::to_string(b) + "-" + std::to_string(i));
      }
    }
    size_t first = 0;
    while (first < got.size() && first < want.size() && got[first] == want[first]) ++first;
    EXPECT_EQ(got, want) << "partition " << p << ": every record once, in order (" << moves
                         << " leader moves); " << got.size() << " records, the first difference at "
                         << first << ": "
                         << (first < got.size() ? got[first] : std::string("(end)"));
  }
}

}  // namespace
}  // namespace ferry::mirror
#endif  // FERRY_HAVE_RDKAFKA_MOCK
