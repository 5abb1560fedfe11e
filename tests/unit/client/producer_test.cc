// Producer against scripted in-process brokers on the same loop (no threads): partitioning,
// batching, ordering through retries and lost connections, leader changes, idempotent
// sequences with the KIP-360 epoch bump, and pre-built batches.
#include "client/producer.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/bytes.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "unit/client/fake_broker.h"
#include "unit/client/loop_test.h"

namespace ferry::client {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;

class StubBroker;

// What the stub brokers tell clients in Metadata answers.
struct Cluster {
  std::vector<StubBroker*> brokers;
  std::map<std::string, std::vector<int32_t>> leaders;  // topic -> leader node per partition
  int metadata_requests = 0;
};

// One batch as a broker received it.
struct Seen {
  std::string topic;
  int32_t partition;
  int64_t producer_id;
  int16_t epoch;
  int32_t base_sequence;
  int32_t count;
};

// A Kafka broker reduced to what a producer needs: ApiVersions, Metadata (from the Cluster),
// InitProducerId and Produce into an in-memory log, with hooks to script errors and drops.
// Loop thread only.
class StubBroker {
 public:
  // Returns an error code to answer a batch with instead of appending it (0: append).
  using ProduceHook = std::function<int16_t(const Seen&)>;

  StubBroker(uv_loop_t* loop, Cluster& cluster, int32_t id)
      : node_id(id), cluster_(cluster), fake_(loop) {
    cluster.brokers.push_back(this);
    port = fake_.port;
    for (auto k : {ApiKey::metadata, ApiKey::produce, ApiKey::init_producer_id}) {
      protocol::visit_described_api(static_cast<int16_t>(k), [&](auto key) {
        using D = protocol::Messages<decltype(key)::value>;
        fake_.versions[static_cast<int16_t>(k)] = {D::min_version, D::max_version};
      });
    }
    fake_.handler = [this](const protocol::RequestHeader& h, std::span<const std::byte> body) {
      return answer(h, body);
    };
  }

  void drop_clients() { fake_.drop_clients(); }

  // Records of a partition's log as "key=value" strings (or the value alone for null keys).
  std::vector<std::string> records(const std::string& topic, int32_t partition) const {
    std::vector<std::string> out;
    auto it = log.find({topic, partition});
    if (it == log.end()) return out;
    for (const auto& b : it->second) {
      std::vector<std::byte> scratch;
      auto recs = protocol::decode_records(protocol::BatchView(b), scratch);
      EXPECT_TRUE(recs.ok());
      if (!recs) continue;
      for (const auto& r : *recs) {
        std::string s;
        if (r.key)
          s = std::string(reinterpret_cast<const char*>(r.key->data()), r.key->size()) + "=";
        if (r.value)
          s += std::string(reinterpret_cast<const char*>(r.value->data()), r.value->size());
        out.push_back(s);
      }
    }
    return out;
  }

  int32_t node_id;
  uint16_t port = 0;
  ProduceHook on_produce;
  bool drop_on_next_produce = false;  // closes the connection instead of answering, once
  bool lose_next_response = false;    // appends, then closes the connection instead of answering
  int16_t init_epoch_bump = 1;
  std::vector<Seen> seen;
  std::vector<size_t> produce_requests;  // partitions in each Produce request, in arrival order
  std::vector<protocol::InitProducerIdRequest> inits;
  std::map<std::pair<std::string, int32_t>, std::vector<std::vector<std::byte>>> log;
  std::map<std::pair<std::string, int32_t>, int64_t> end_offset;
  // (topic, partition, pid, epoch, base sequence) -> base offset of an appended batch.
  std::map<std::tuple<std::string, int32_t, int64_t, int16_t, int32_t>, int64_t> appended;
  // (topic, partition, pid) -> (epoch, next sequence)
  std::map<std::tuple<std::string, int32_t, int64_t>, std::pair<int16_t, int32_t>> producers;

 private:
  template <typename M>
  static void encode(const M& m, ApiKey key, int16_t v, std::vector<std::byte>& out) {
    protocol::Writer w(out);
    protocol::encode_message(m, v, protocol::is_flexible(key, v), w);
  }

  // The answer to one request; nullopt: none (acks=0) or the connection was dropped.
  std::optional<std::vector<std::byte>> answer(const protocol::RequestHeader& h,
                                               std::span<const std::byte> body) {
    const auto key = static_cast<ApiKey>(h.api_key);
    const int16_t v = h.api_version;
    const bool flex = protocol::is_flexible(key, v);
    std::vector<std::byte> out;
    if (key == ApiKey::metadata) {
      ++cluster_.metadata_requests;
      protocol::MetadataRequest req;
      EXPECT_TRUE(protocol::decode_message(body, v, flex, req).ok());
      protocol::MetadataResponse resp;
      for (auto* b : cluster_.brokers)
        resp.brokers.push_back({b->node_id, "127.0.0.1", b->port, {}});
      for (const auto& t : req.topics.value_or(std::vector<protocol::MetadataRequest::Topic>{})) {
        protocol::MetadataResponse::Topic rt;
        rt.name = t.name;
        auto it = cluster_.leaders.find(t.name);
        if (it == cluster_.leaders.end()) {
          rt.error_code = protocol::wire(ErrorCode::unknown_topic_or_partition);
        } else {
          for (size_t i = 0; i < it->second.size(); ++i) {
            protocol::MetadataResponse::Topic::Partition p;
            p.partition_index = static_cast<int32_t>(i);
            p.leader_id = it->second[i];
            rt.partitions.push_back(p);
          }
        }
        resp.topics.push_back(rt);
      }
      encode(resp, key, v, out);
    } else if (key == ApiKey::init_producer_id) {
      protocol::InitProducerIdRequest req;
      EXPECT_TRUE(protocol::decode_message(body, v, flex, req).ok());
      inits.push_back(req);
      protocol::InitProducerIdResponse resp;
      if (v >= 3 && req.producer_id >= 0) {
        resp.producer_id = req.producer_id;
        resp.producer_epoch = static_cast<int16_t>(req.producer_epoch + init_epoch_bump);
      } else {
        resp.producer_id = 1000 + static_cast<int64_t>(inits.size());
        resp.producer_epoch = 0;
      }
      encode(resp, key, v, out);
    } else if (key == ApiKey::produce) {
      protocol::ProduceRequest req;
      EXPECT_TRUE(protocol::decode_message(body, v, flex, req).ok());
      size_t partitions_in_request = 0;
      for (const auto& t : req.topic_data) partitions_in_request += t.partition_data.size();
      produce_requests.push_back(partitions_in_request);
      if (drop_on_next_produce) {
        drop_on_next_produce = false;
        drop_clients();
        return std::nullopt;
      }
      protocol::ProduceResponse resp;
      for (const auto& t : req.topic_data) {
        auto& rt = resp.responses.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partition_data) {
          auto& rp = rt.partition_responses.emplace_back();
          rp.index = p.index;
          const std::vector<std::byte> bytes(p.records.data->begin(), p.records.data->end());
          EXPECT_TRUE(protocol::validate_batch(bytes).ok());
          protocol::BatchView b(bytes);
          Seen s{t.name,
                 p.index,
                 b.producer_id().value(),
                 b.producer_epoch(),
                 b.base_sequence(),
                 b.record_count()};
          seen.push_back(s);
          rp.error_code = on_produce ? on_produce(s) : int16_t{0};
          if (rp.error_code != 0) {
            rp.base_offset = -1;
            continue;
          }
          const auto id = std::make_tuple(t.name, p.index, s.producer_id, s.epoch, s.base_sequence);
          if (s.producer_id >= 0 && appended.count(id) != 0) {
            rp.base_offset = appended[id];  // a duplicate: the original offset, not appended
            continue;
          }
          if (s.producer_id >= 0) {
            // The broker's sequence checks (PROTOCOL.md 2.3): a new epoch starts at 0, the same
            // epoch goes on from the last sequence.
            auto [state, fresh] =
                producers.try_emplace(std::make_tuple(t.name, p.index, s.producer_id), s.epoch, 0);
            auto& [epoch, next] = state->second;
            const bool ok = s.epoch > epoch ? s.base_sequence == 0
                                            : s.epoch == epoch && s.base_sequence == next;
            if (!ok && !(fresh && s.epoch == epoch && s.base_sequence == 0)) {
              rp.error_code =
                  protocol::wire(s.epoch < epoch ? ErrorCode::invalid_producer_epoch
                                                 : ErrorCode::out_of_order_sequence_number);
              rp.base_offset = -1;
              continue;
            }
            epoch = s.epoch;
            next = s.base_sequence + s.count;
          }
          auto& end = end_offset[{t.name, p.index}];
          rp.base_offset = end;
          if (s.producer_id >= 0) appended[id] = end;
          end += s.count;
          log[{t.name, p.index}].push_back(bytes);
        }
      }
      if (lose_next_response) {  // appended, but the answer never reaches the producer
        lose_next_response = false;
        drop_clients();
        return std::nullopt;
      }
      if (req.acks == 0) return std::nullopt;
      encode(resp, key, v, out);
    } else {
      return std::nullopt;
    }
    return out;
  }

  Cluster& cluster_;
  test::FakeBroker fake_;
};

class ProducerTest : public test::LoopTest {
 protected:
  std::unique_ptr<Client> client(const StubBroker& b) {
    ConnectionOptions o;
    o.connect_timeout_ms = 5000;
    o.request_timeout_ms = 5000;
    ClientOptions co;
    co.reconnect_backoff_ms = 10;
    co.reconnect_backoff_max_ms = 100;
    return std::make_unique<Client>(&loop_, "127.0.0.1", b.port, o, co);
  }
  static ProducerOptions options(bool idempotent = false) {
    ProducerOptions o;
    o.idempotent = idempotent;
    o.linger_ms = 1;
    o.retry_backoff_ms = 10;
    o.delivery_timeout_ms = 5000;
    return o;
  }
  // Produces values "0".."n-1" with key `key` to topic/partition, 10 per batch.
  void produce_n(Producer& p, const std::string& topic, std::optional<int32_t> partition, int n,
                 std::vector<DeliveryReport>& reports, size_t batch_size = 10 * 17) {
    (void)batch_size;
    for (int i = 0; i < n; ++i) {
      ProducerRecord r;
      r.topic = topic;
      r.partition = partition;
      r.value = std::to_string(i);
      p.produce(std::move(r), [&reports](const DeliveryReport& d) { reports.push_back(d); });
    }
  }
  static std::vector<std::string> numbers(int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) v.push_back(std::to_string(i));
    return v;
  }
  void close(std::unique_ptr<Client>& c) {
    c->close();
    c.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
};

TEST(Murmur2, MatchesKafkasPartitioner) {
  // Values from Kafka's and librdkafka's murmur2 tests.
  auto h = [](std::string_view s) {
    return murmur2(std::as_bytes(std::span<const char>(s.data(), s.size())));
  };
  EXPECT_EQ(h("kafka"), 0xd067cf64U);
  EXPECT_EQ(h("giberish123456789"), 0x8f552b0cU);
  EXPECT_EQ(h("1234"), 0x9fc97b14U);
  EXPECT_EQ(h("234"), 0xe7c009caU);
  EXPECT_EQ(h("34"), 0x873930daU);
  EXPECT_EQ(h("4"), 0x5a4b5ca1U);
  EXPECT_EQ(h(""), 0x106e08d9U);
  EXPECT_EQ(murmur2_partition("kafka", 3), static_cast<int32_t>((0xd067cf64U & 0x7fffffffU) % 3));
}

TEST_F(ProducerTest, KeyedRecordsGoToTheirPartitionWithOffsets) {
  Cluster cluster;
  cluster.leaders["t"] = {1, 1, 1};
  StubBroker broker(&loop_, cluster, 1);
  auto c = client(broker);
  {
    Producer p(*c, options());
    std::vector<DeliveryReport> reports;
    for (int i = 0; i < 30; ++i) {
      ProducerRecord r;
      r.topic = "t";
      r.key = "k" + std::to_string(i % 5);
      r.value = std::to_string(i);
      p.produce(std::move(r), [&](const DeliveryReport& d) { reports.push_back(d); });
    }
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    ASSERT_EQ(reports.size(), 30U);
    std::map<int32_t, int64_t> next;
    for (const auto& d : reports) {
      ASSERT_TRUE(d.offset.ok()) << d.offset.error().to_string();
      EXPECT_EQ(d.offset->value(), next[d.partition]++);  // reported in order, offsets dense
    }
    for (int k = 0; k < 5; ++k) {
      const int32_t want = murmur2_partition("k" + std::to_string(k), 3);
      for (const auto& rec : broker.records("t", want)) {
        if (rec.rfind("k" + std::to_string(k) + "=", 0) == 0) SUCCEED();
      }
      bool found = false;
      for (const auto& rec : broker.records("t", want))
        found = found || rec.rfind("k" + std::to_string(k) + "=", 0) == 0;
      EXPECT_TRUE(found) << "key k" << k << " not in partition " << want;
    }
  }
  close(c);
}

// Batches of every partition led by one broker that are ready together travel in one Produce
// request, not one request per partition.
TEST_F(ProducerTest, OneRequestCarriesTheBatchesOfSeveralPartitions) {
  Cluster cluster;
  cluster.leaders["t"] = {1, 1, 1, 1, 1, 1, 1, 1};
  StubBroker broker(&loop_, cluster, 1);
  auto c = client(broker);
  {
    auto o = options();
    o.linger_ms = 1000;  // nothing goes before flush()
    Producer p(*c, o);
    std::vector<DeliveryReport> reports;
    for (int32_t part = 0; part < 8; ++part) produce_n(p, "t", part, 5, reports);
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    ASSERT_EQ(reports.size(), 40U);
    for (const auto& d : reports) EXPECT_TRUE(d.offset.ok()) << d.offset.error().to_string();
    EXPECT_EQ(broker.produce_requests, std::vector<size_t>{8});
    for (int32_t part = 0; part < 8; ++part) EXPECT_EQ(broker.records("t", part), numbers(5));
  }
  close(c);
}

// A request holds at most max_request_size bytes of batches; a partition's second ready batch
// goes into a later request, so it can never overtake its first.
TEST_F(ProducerTest, RequestsAreSplitBySizeAndByPartition) {
  Cluster cluster;
  cluster.leaders["t"] = {1, 1, 1, 1};
  StubBroker broker(&loop_, cluster, 1);
  auto c = client(broker);
  {
    auto o = options(true);
    o.linger_ms = 1000;
    o.batch_size = 5 * 17;     // about 5 records per batch: two batches per partition
    o.max_request_size = 250;  // about two batches per request
    Producer p(*c, o);
    std::vector<DeliveryReport> reports;
    for (int32_t part = 0; part < 4; ++part) produce_n(p, "t", part, 8, reports);
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    ASSERT_EQ(reports.size(), 32U);
    for (const auto& d : reports) EXPECT_TRUE(d.offset.ok()) << d.offset.error().to_string();
    ASSERT_GE(broker.produce_requests.size(), 2U);
    for (size_t n : broker.produce_requests) EXPECT_LE(n, 3U);
    std::map<int32_t, int32_t> next;
    for (const auto& seen : broker.seen) {
      EXPECT_EQ(seen.base_sequence, next[seen.partition]) << "partition " << seen.partition;
      next[seen.partition] += seen.count;
    }
    for (int32_t part = 0; part < 4; ++part) EXPECT_EQ(broker.records("t", part), numbers(8));
  }
  close(c);
}

// Several batches in flight (idempotent: up to five per partition; plain: one per partition,
// several partitions per request): a retriable error on one partition's first batch sends that
// batch and the ones after it again in their order, the other partition is not held up, and the
// delivery reports of each partition come in record order with increasing offsets.
TEST_F(ProducerTest, ARetriableErrorWithSeveralInFlightKeepsEachPartitionInOrder) {
  for (bool idempotent : {true, false}) {
    SCOPED_TRACE(idempotent ? "idempotent" : "plain");
    Cluster cluster;
    cluster.leaders["t"] = {1, 1};
    StubBroker broker(&loop_, cluster, 1);
    bool failed = false;
    broker.on_produce = [&](const Seen& s) -> int16_t {
      if (!failed && s.partition == 0) {
        failed = true;
        return protocol::wire(ErrorCode::not_enough_replicas);
      }
      return 0;
    };
    auto c = client(broker);
    {
      auto o = options(idempotent);
      o.batch_size = 40;  // a few records per batch: many batches per partition
      o.max_in_flight = 5;
      Producer p(*c, o);
      std::map<int32_t, std::vector<DeliveryReport>> by_partition;
      for (int i = 0; i < 60; ++i) {
        for (int32_t part : {0, 1}) {
          ProducerRecord r;
          r.topic = "t";
          r.partition = part;
          r.value = std::to_string(i);
          p.produce(std::move(r), [&by_partition, part](const DeliveryReport& d) {
            by_partition[part].push_back(d);
          });
        }
      }
      bool flushed = false;
      p.flush([&] { flushed = true; });
      run_until([&] { return flushed; });
      EXPECT_TRUE(failed);
      for (int32_t part : {0, 1}) {
        SCOPED_TRACE("partition " + std::to_string(part));
        EXPECT_EQ(broker.records("t", part), numbers(60));
        const auto& reports = by_partition[part];
        ASSERT_EQ(reports.size(), 60U);
        for (size_t i = 0; i < reports.size(); ++i) {
          ASSERT_TRUE(reports[i].offset.ok()) << reports[i].offset.error().to_string();
          EXPECT_EQ(reports[i].offset->value(), static_cast<int64_t>(i));
        }
      }
      // Partition 1's batches went on while partition 0 was retried, in the same requests.
      EXPECT_TRUE(std::any_of(broker.produce_requests.begin(), broker.produce_requests.end(),
                              [](size_t n) { return n == 2; }));
      if (idempotent) {
        // A later batch of partition 0 reached the broker before the failed one was sent again:
        // more than one request was in flight for it.
        bool later_before_retry = false;
        bool seen_failed = false;
        for (const auto& s : broker.seen) {
          if (s.partition != 0) continue;
          if (s.base_sequence == 0 && seen_failed) break;
          if (s.base_sequence == 0) seen_failed = true;
          if (s.base_sequence > 0 && seen_failed) later_before_retry = true;
        }
        EXPECT_TRUE(later_before_retry);
      }
    }
    close(c);
  }
}

TEST_F(ProducerTest, RetriesKeepTheOrder) {
  Cluster cluster;
  cluster.leaders["t"] = {1};
  StubBroker broker(&loop_, cluster, 1);
  int failures = 0;
  broker.on_produce = [&](const Seen&) -> int16_t {
    // Every other request fails with a retriable error, three times.
    if (failures < 3 && broker.seen.size() % 2 == 1) {
      ++failures;
      return protocol::wire(ErrorCode::not_enough_replicas);
    }
    return 0;
  };
  auto c = client(broker);
  {
    auto o = options();
    o.batch_size = 40;  // a few records per batch
    Producer p(*c, o);
    std::vector<DeliveryReport> reports;
    produce_n(p, "t", 0, 50, reports);
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    EXPECT_EQ(failures, 3);
    ASSERT_EQ(reports.size(), 50U);
    for (const auto& d : reports) EXPECT_TRUE(d.offset.ok()) << d.offset.error().to_string();
    EXPECT_EQ(broker.records("t", 0), numbers(50));
  }
  close(c);
}

TEST_F(ProducerTest, ALostConnectionMidFlightIsRetriedInOrder) {
  Cluster cluster;
  cluster.leaders["t"] = {1};
  StubBroker broker(&loop_, cluster, 1);
  broker.drop_on_next_produce = true;
  auto c = client(broker);
  for (bool idempotent : {false, true}) {
    SCOPED_TRACE(idempotent ? "idempotent" : "plain");
    broker.drop_on_next_produce = true;
    broker.log.clear();
    broker.end_offset.clear();
    Producer p(*c, options(idempotent));
    std::vector<DeliveryReport> reports;
    produce_n(p, "t", 0, 100, reports);
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    ASSERT_EQ(reports.size(), 100U);
    for (const auto& d : reports) EXPECT_TRUE(d.offset.ok()) << d.offset.error().to_string();
    EXPECT_EQ(broker.records("t", 0), numbers(100));
  }
  close(c);
}

TEST_F(ProducerTest, NotLeaderRefreshesMetadataAndGoesToTheNewLeader) {
  Cluster cluster;
  cluster.leaders["t"] = {1};
  StubBroker a(&loop_, cluster, 1);
  StubBroker b(&loop_, cluster, 2);
  a.on_produce = [&](const Seen&) -> int16_t {
    cluster.leaders["t"] = {2};  // the leadership moved
    return protocol::wire(ErrorCode::not_leader_or_follower);
  };
  auto c = client(a);
  {
    Producer p(*c, options());
    std::vector<DeliveryReport> reports;
    produce_n(p, "t", 0, 20, reports);
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    ASSERT_EQ(reports.size(), 20U);
    for (const auto& d : reports) EXPECT_TRUE(d.offset.ok()) << d.offset.error().to_string();
    EXPECT_EQ(a.records("t", 0), std::vector<std::string>{});
    EXPECT_EQ(b.records("t", 0), numbers(20));
    EXPECT_GE(cluster.metadata_requests, 2);
  }
  close(c);
}

// KAFKA_STORAGE_ERROR (the leader's log directory failed) is a leader error for the producer as
// for the consumer: the metadata is asked again and the batch goes to the new leader.
TEST_F(ProducerTest, AStorageErrorAtTheLeaderRefreshesMetadata) {
  Cluster cluster;
  cluster.leaders["t"] = {1};
  StubBroker a(&loop_, cluster, 1);
  StubBroker b(&loop_, cluster, 2);
  a.on_produce = [&](const Seen&) -> int16_t {
    cluster.leaders["t"] = {2};
    return protocol::wire(ErrorCode::kafka_storage_error);
  };
  auto c = client(a);
  {
    ProducerOptions o = options();
    o.delivery_timeout_ms = 2'000;
    Producer p(*c, o);
    std::vector<DeliveryReport> reports;
    produce_n(p, "t", 0, 5, reports);
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    ASSERT_EQ(reports.size(), 5U);
    for (const auto& d : reports) EXPECT_TRUE(d.offset.ok()) << d.offset.error().to_string();
    EXPECT_EQ(b.records("t", 0), numbers(5));
  }
  close(c);
}

TEST_F(ProducerTest, IdempotentSequencesAdvanceByRecordCount) {
  Cluster cluster;
  cluster.leaders["t"] = {1, 1};
  StubBroker broker(&loop_, cluster, 1);
  auto c = client(broker);
  {
    auto o = options(true);
    o.batch_size = 60;
    Producer p(*c, o);
    std::vector<DeliveryReport> reports;
    produce_n(p, "t", 0, 40, reports);
    produce_n(p, "t", 1, 7, reports);
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    ASSERT_EQ(reports.size(), 47U);
    ASSERT_EQ(broker.inits.size(), 1U);
    EXPECT_EQ(broker.inits[0].producer_id, -1);
    std::map<int32_t, int32_t> next;
    for (const auto& s : broker.seen) {
      EXPECT_EQ(s.producer_id, 1001);
      EXPECT_EQ(s.epoch, 0);
      EXPECT_EQ(s.base_sequence, next[s.partition]) << "partition " << s.partition;
      next[s.partition] += s.count;
    }
    EXPECT_EQ(next[0], 40);
    EXPECT_EQ(next[1], 7);
    EXPECT_GT(broker.seen.size(), 2U);
    EXPECT_EQ(broker.records("t", 0), numbers(40));
  }
  close(c);
}

TEST_F(ProducerTest, OutOfOrderSequenceBumpsTheEpochAndResetsSequences) {
  Cluster cluster;
  cluster.leaders["t"] = {1};
  StubBroker broker(&loop_, cluster, 1);
  bool failed_once = false;
  broker.on_produce = [&](const Seen& s) -> int16_t {
    if (!failed_once && s.base_sequence > 0) {  // the broker lost the producer's state
      failed_once = true;
      return protocol::wire(ErrorCode::out_of_order_sequence_number);
    }
    return 0;
  };
  auto c = client(broker);
  {
    auto o = options(true);
    o.batch_size = 60;
    Producer p(*c, o);
    std::vector<DeliveryReport> reports;
    produce_n(p, "t", 0, 60, reports);
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    ASSERT_EQ(reports.size(), 60U);
    for (const auto& d : reports) EXPECT_TRUE(d.offset.ok()) << d.offset.error().to_string();
    ASSERT_EQ(broker.inits.size(), 2U);
    EXPECT_EQ(broker.inits[1].producer_id, 1001);  // KIP-360: the current id and epoch
    EXPECT_EQ(broker.inits[1].producer_epoch, 0);
    EXPECT_EQ(p.producer_epoch(), 1);
    // After the bump the failed batch went again with sequence 0 and epoch 1, and the
    // sequences went on from there.
    bool bumped = false;
    int32_t next = 0;
    for (const auto& s : broker.seen) {
      if (s.epoch == 1 && !bumped) {
        bumped = true;
        next = 0;
      }
      if (bumped) {
        EXPECT_EQ(s.base_sequence, next);
        next += s.count;
      }
    }
    EXPECT_TRUE(bumped);
    EXPECT_EQ(broker.records("t", 0), numbers(60));
  }
  close(c);
}

TEST_F(ProducerTest, DuplicateSequenceNumberIsASuccess) {
  Cluster cluster;
  cluster.leaders["t"] = {1};
  StubBroker broker(&loop_, cluster, 1);
  broker.on_produce = [&](const Seen&) -> int16_t {
    return protocol::wire(ErrorCode::duplicate_sequence_number);
  };
  auto c = client(broker);
  {
    Producer p(*c, options(true));
    std::vector<DeliveryReport> reports;
    produce_n(p, "t", 0, 5, reports);
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    ASSERT_EQ(reports.size(), 5U);
    for (const auto& d : reports) {
      ASSERT_TRUE(d.offset.ok());
      EXPECT_EQ(d.offset->value(), -1);  // written before; this broker did not say where
    }
    EXPECT_EQ(broker.seen.size(), 1U);  // not retried
  }
  close(c);
}

TEST_F(ProducerTest, APrebuiltBatchIsRewrittenNotRecompressed) {
  Cluster cluster;
  cluster.leaders["t"] = {1};
  StubBroker broker(&loop_, cluster, 1);
  auto c = client(broker);
  const std::string value(100, 'x');  // RecordInput views it: it must outlive build_batch
  std::vector<protocol::RecordInput> in;
  for (int i = 0; i < 20; ++i) in.push_back({"key", value, 1'700'000'000'000, {}});
  protocol::BuildOptions bo;
  bo.compression = protocol::Compression::lz4;
  bo.base_offset = Offset(77);
  bo.producer_id = ProducerId(5);  // the source's producer: must not reach the target
  bo.producer_epoch = 3;
  bo.base_sequence = 40;
  auto built = protocol::build_batch(in, bo);
  ASSERT_TRUE(built.ok());
  const std::vector<std::byte> original = *built;
  for (bool idempotent : {false, true}) {
    SCOPED_TRACE(idempotent ? "idempotent" : "plain");
    broker.log.clear();
    Producer p(*c, options(idempotent));
    std::optional<DeliveryReport> report;
    p.produce_batch("t", 0, original, [&](const DeliveryReport& d) { report = d; });
    run_until([&] { return report.has_value(); });
    ASSERT_TRUE(report->offset.ok()) << report->offset.error().to_string();
    EXPECT_EQ(report->record_count, 20);
    const auto& got = broker.log[{"t", 0}].at(0);
    protocol::BatchView g(got), o(original);
    EXPECT_TRUE(protocol::validate_batch(got).ok());
    EXPECT_EQ(g.compression(), protocol::Compression::lz4);
    EXPECT_EQ(g.size(), o.size());
    EXPECT_TRUE(std::equal(g.records_bytes().begin(), g.records_bytes().end(),
                           o.records_bytes().begin(), o.records_bytes().end()));
    EXPECT_EQ(g.base_offset().value(), 0);
    EXPECT_EQ(g.record_count(), 20);
    EXPECT_EQ(g.producer_id().value(), idempotent ? p.producer_id().value() : -1);
    EXPECT_EQ(g.producer_epoch(), idempotent ? 0 : -1);
    EXPECT_EQ(g.base_sequence(), idempotent ? 0 : -1);
    EXPECT_EQ(g.crc(), protocol::compute_batch_crc(got));
  }
  close(c);
}

TEST_F(ProducerTest, AcksZeroReportsWithoutOffsets) {
  Cluster cluster;
  cluster.leaders["t"] = {1};
  StubBroker broker(&loop_, cluster, 1);
  auto c = client(broker);
  {
    auto o = options();
    o.acks = 0;
    Producer p(*c, o);
    std::vector<DeliveryReport> reports;
    produce_n(p, "t", 0, 10, reports);
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    ASSERT_EQ(reports.size(), 10U);
    for (const auto& d : reports) EXPECT_EQ(d.offset->value(), -1);
    run_until([&] { return broker.records("t", 0).size() == 10; });
  }
  close(c);
}

TEST_F(ProducerTest, AnUnknownTopicFailsAfterTheDeliveryTimeout) {
  Cluster cluster;
  StubBroker broker(&loop_, cluster, 1);
  auto c = client(broker);
  {
    auto o = options();
    o.delivery_timeout_ms = 200;
    Producer p(*c, o);
    std::vector<DeliveryReport> reports;
    produce_n(p, "missing", std::nullopt, 3, reports);
    run_until([&] { return reports.size() == 3; });
    for (const auto& d : reports) {
      ASSERT_FALSE(d.offset.ok());
      EXPECT_EQ(d.offset.error().code(), ErrorCode::unknown_topic_or_partition);
    }
  }
  close(c);
}

}  // namespace
}  // namespace ferry::client

namespace ferry::client {
namespace {

TEST_F(ProducerTest, CloseDeliversWhatWasQueuedAndRefusesTheRest) {
  Cluster cluster;
  cluster.leaders["t"] = {1};
  StubBroker broker(&loop_, cluster, 1);
  auto c = client(broker);
  {
    Producer p(*c, options(true));
    std::vector<DeliveryReport> reports;
    produce_n(p, "t", 0, 10, reports);
    bool closed = false;
    p.close([&] { closed = true; });
    std::optional<DeliveryReport> refused;
    ProducerRecord late;
    late.topic = "t";
    late.value = "late";
    p.produce(late, [&](const DeliveryReport& d) { refused = d; });
    EXPECT_FALSE(refused.has_value());  // never inside produce()
    run_until([&] { return closed && refused.has_value(); });
    ASSERT_EQ(reports.size(), 10U);
    for (const auto& d : reports) EXPECT_TRUE(d.offset.ok());
    EXPECT_FALSE(refused->offset.ok());
    EXPECT_EQ(broker.records("t", 0), numbers(10));
  }
  close(c);
}

TEST_F(ProducerTest, ABatchThatIsNotOneCompleteBatchIsRefused) {
  Cluster cluster;
  cluster.leaders["t"] = {1};
  StubBroker broker(&loop_, cluster, 1);
  auto c = client(broker);
  {
    Producer p(*c, options());
    std::optional<DeliveryReport> report;
    p.produce_batch("t", 0, std::vector<std::byte>(100),
                    [&](const DeliveryReport& d) { report = d; });
    run_until([&] { return report.has_value(); });
    ASSERT_FALSE(report->offset.ok());
    EXPECT_EQ(report->offset.error().code(), ErrorCode::corrupt_message);
    EXPECT_TRUE(broker.seen.empty());
  }
  close(c);
}

TEST_F(ProducerTest, TheClientSharesMetadataRequestsAndCachesTheAnswer) {
  Cluster cluster;
  cluster.leaders["a"] = {1, 1};
  cluster.leaders["b"] = {1};
  StubBroker broker(&loop_, cluster, 1);
  auto c = client(broker);
  int answers = 0;
  for (const char* t : {"a", "a", "b"}) {
    c->leader(t, 0, [&](KafkaResult<NodeId> n) {
      EXPECT_TRUE(n.ok());
      ++answers;
    });
  }
  run_until([&] { return answers == 3; });
  // The first request asked for "a"; "b", asked while it was in flight, got one of its own.
  EXPECT_EQ(cluster.metadata_requests, 2);
  bool cached = false;
  c->leader("a", 1, [&](KafkaResult<NodeId> n) { cached = n.ok() && n->value() == 1; });
  EXPECT_TRUE(cached);  // from the cache, at once
  EXPECT_EQ(cluster.metadata_requests, 2);
  c->invalidate_metadata("a");
  bool again = false;
  c->leader("a", 0, [&](KafkaResult<NodeId> n) { again = n.ok(); });
  run_until([&] { return again; });
  EXPECT_EQ(cluster.metadata_requests, 3);
  std::optional<KafkaResult<NodeId>> missing;
  c->leader("a", 7, [&](KafkaResult<NodeId> n) { missing.emplace(std::move(n)); });
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->error().code(), ErrorCode::unknown_topic_or_partition);
  close(c);
}

TEST_F(ProducerTest, TheClientBacksOffBeforeReconnecting) {
  uint16_t port = 0;
  {
    test::FakeBroker gone(&loop_);  // a port nothing listens on once it is gone
    port = gone.port;
  }
  ClientOptions co;
  co.reconnect_backoff_ms = 100;
  co.reconnect_backoff_max_ms = 1000;
  Client c(&loop_, "127.0.0.1", port, ConnectionOptions{}, co);
  // Each attempt after a failure waits: ~100 ms, then ~200 ms, then ~400 ms (+-20%).
  std::vector<uint64_t> failed_at;
  std::function<void()> attempt = [&] {
    c.send_any<ApiKey::metadata>({}, [&](KafkaResult<protocol::MetadataResponse> r) {
      EXPECT_FALSE(r.ok());
      failed_at.push_back(uv_now(&loop_));
      if (failed_at.size() < 4) attempt();
    });
  };
  uv_update_time(&loop_);
  const uint64_t start = uv_now(&loop_);
  attempt();
  run_until([&] { return failed_at.size() == 4; });
  ASSERT_EQ(failed_at.size(), 4U);
  EXPECT_LT(failed_at[0] - start, 80U);  // the first attempt does not wait
  EXPECT_GE(failed_at[1] - failed_at[0], 80U);
  EXPECT_GE(failed_at[2] - failed_at[1], 160U);
  EXPECT_GE(failed_at[3] - failed_at[2], 320U);
  EXPECT_LT(failed_at[3] - failed_at[2], 1000U);
  c.close();
}

TEST_F(ProducerTest, ALostResponseIsNotADuplicateWhenIdempotent) {
  Cluster cluster;
  cluster.leaders["t"] = {1};
  StubBroker broker(&loop_, cluster, 1);
  broker.lose_next_response = true;
  auto c = client(broker);
  {
    auto o = options(true);
    o.batch_size = 60;
    Producer p(*c, o);
    std::vector<DeliveryReport> reports;
    produce_n(p, "t", 0, 50, reports);
    bool flushed = false;
    p.flush([&] { flushed = true; });
    run_until([&] { return flushed; });
    ASSERT_EQ(reports.size(), 50U);
    for (size_t i = 0; i < reports.size(); ++i) {
      ASSERT_TRUE(reports[i].offset.ok()) << reports[i].offset.error().to_string();
      EXPECT_EQ(reports[i].offset->value(), static_cast<int64_t>(i));  // the original offsets
    }
    EXPECT_FALSE(broker.lose_next_response);
    EXPECT_EQ(broker.records("t", 0), numbers(50));  // resent, deduplicated by the broker
    EXPECT_EQ(broker.inits.size(), 1U);              // no epoch bump for a lost response
  }
  close(c);
}

}  // namespace
}  // namespace ferry::client
