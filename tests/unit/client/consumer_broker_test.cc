// Consumer against an in-process ferry broker on the same loop: assign + seek, two members of a
// group splitting four partitions, commits, and a third member resuming from them.
#include <gtest/gtest.h>

#include <set>

#include "client/client.h"
#include "client/consumer.h"
#include "unit/client/broker_client_test.h"

namespace ferry::client {
namespace {

using protocol::ApiKey;

class ConsumerBrokerTest : public test::BrokerClientTest {
 protected:
  void close_clients() override {
    for (auto& m : consumers_) {
      m->consumer.reset();
      m->client->close();
      m->client.reset();
    }
    consumers_.clear();
  }

  // Produces values "p<partition>-<first + i>" for i in [0, n) with a raw Produce request.
  void produce(const std::string& topic, int32_t partition, int first, int n) {
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i)
      values.push_back("p" + std::to_string(partition) + "-" + std::to_string(first + i));
    std::vector<protocol::RecordInput> in;
    for (const auto& v : values) {
      protocol::RecordInput r;
      r.value = v;
      r.timestamp_ms = 1'700'000'000'000;
      in.push_back(r);
    }
    produce_records(topic, partition, in);
  }

  // A consumer whose records (since its last assignment) and assignment are kept in `m`.
  // Each member has its own client, as separate consumers have their own connections: a broker
  // answers a connection's requests in order, and a JoinGroup waits for the rebalance.
  struct Member {
    std::unique_ptr<Client> client;
    std::unique_ptr<Consumer> consumer;
    std::vector<ConsumerRecord> records;
    std::vector<TopicPartition> assignment;
    int assignments = 0;
    std::vector<KafkaError> errors;
  };
  Member& add_member(std::optional<std::string> group) {
    ConsumerConfig c;
    c.group_id = std::move(group);
    c.auto_offset_reset = OffsetReset::earliest;
    c.fetch_max_wait_ms = 100;
    c.heartbeat_interval_ms = 100;
    c.session_timeout_ms = 6000;
    c.rebalance_timeout_ms = 5000;
    c.enable_auto_commit = false;
    auto m = std::make_unique<Member>();
    ConnectionOptions o;
    o.connect_timeout_ms = 5000;
    o.request_timeout_ms = 10000;
    m->client = std::make_unique<Client>(&loop_, "127.0.0.1", broker_->port(), o);
    m->consumer = std::make_unique<Consumer>(*m->client, c);
    Member* p = m.get();
    p->consumer->on_records([p] {
      for (auto& r : p->consumer->poll(1000)) p->records.push_back(std::move(r));
    });
    p->consumer->on_assignment([p](const std::vector<TopicPartition>& a) {
      p->assignment = a;
      p->records.clear();
      ++p->assignments;
    });
    p->consumer->on_error([p](const KafkaError& e) { p->errors.push_back(e); });
    consumers_.push_back(std::move(m));
    return *p;
  }

  void close(Member& m) {
    bool done = false;
    m.consumer->close([&] { done = true; });
    ASSERT_TRUE(run_until([&] { return done; }));
  }

  std::vector<std::unique_ptr<Member>> consumers_;
};

std::map<int32_t, std::vector<std::string>> by_partition(const std::vector<ConsumerRecord>& rs) {
  std::map<int32_t, std::vector<std::string>> out;
  for (const auto& r : rs)
    out[r.partition].push_back(std::to_string(r.offset.value()) + ":" + *r.value);
  return out;
}

TEST_F(ConsumerBrokerTest, AssignAndSeek) {
  create_topic("it", 2);
  produce("it", 0, 0, 3);
  produce("it", 1, 0, 2);
  auto& m = add_member(std::nullopt);
  m.consumer->assign({{"it", 0}, {"it", 1}});
  m.consumer->seek({"it", 0}, SeekTarget::earliest());
  m.consumer->seek({"it", 1}, SeekTarget::at(Offset(1)));
  ASSERT_TRUE(run_until([&] { return m.records.size() >= 4; }));
  auto got = by_partition(m.records);
  EXPECT_EQ(got[0], (std::vector<std::string>{"0:p0-0", "1:p0-1", "2:p0-2"}));
  EXPECT_EQ(got[1], (std::vector<std::string>{"1:p1-1"}));
  // Long poll: a record produced later arrives through the fetch already waiting.
  produce("it", 1, 2, 1);
  ASSERT_TRUE(run_until([&] { return m.records.size() >= 5; }));
  EXPECT_EQ(m.records.back().value, "p1-2");
  m.consumer->seek({"it", 0}, SeekTarget::latest());
  ASSERT_TRUE(run_until([&] { return m.consumer->position({"it", 0}) == Offset(3); }));
  m.consumer->seek({"it", 0}, SeekTarget::by_time(1'700'000'000'000));
  ASSERT_TRUE(run_until([&] { return m.records.size() >= 8; }));
  EXPECT_TRUE(m.errors.empty());
}

TEST_F(ConsumerBrokerTest, TwoMembersSplitPartitionsCommitAndAThirdResumes) {
  create_topic("grp", 4);
  for (int32_t p = 0; p < 4; ++p) produce("grp", p, 0, 5);
  auto& a = add_member("g");
  auto& b = add_member("g");
  // a alone first (every partition), then b joins: a hears REBALANCE_IN_PROGRESS in a
  // heartbeat and rejoins.
  a.consumer->subscribe({"grp"});
  ASSERT_TRUE(run_until([&] { return a.assignment.size() == 4 && a.records.size() == 20; }));
  b.consumer->subscribe({"grp"});
  // Settled: two partitions each, and each member has read its partitions' five records.
  ASSERT_TRUE(run_until(
      [&] {
        return a.assignment.size() == 2 && b.assignment.size() == 2 && a.records.size() == 10 &&
               b.records.size() == 10 && a.consumer->stable() && b.consumer->stable();
      },
      20000))
      << a.assignment.size() << " " << b.assignment.size() << " " << a.records.size() << " "
      << b.records.size();
  std::set<TopicPartition> all(a.assignment.begin(), a.assignment.end());
  all.insert(b.assignment.begin(), b.assignment.end());
  EXPECT_EQ(all.size(), 4u);
  EXPECT_GE(a.assignments, 3);  // everything, nothing while rejoining, half
  for (const auto* m : {&a, &b}) {
    for (const auto& [p, rs] : by_partition(m->records)) EXPECT_EQ(rs.size(), 5u) << p;
  }
  int committed = 0;
  for (auto* m : {&a, &b}) {
    m->consumer->commit([&](KafkaStatus st) {
      EXPECT_TRUE(st.ok()) << st.error().to_string();
      ++committed;
    });
  }
  ASSERT_TRUE(run_until([&] { return committed == 2; }));
  close(a);
  close(b);
  for (int32_t p = 0; p < 4; ++p) produce("grp", p, 5, 2);

  auto& c = add_member("g");
  c.consumer->subscribe({"grp"});
  ASSERT_TRUE(run_until([&] { return c.assignment.size() == 4 && c.records.size() == 8; }, 20000));
  for (int32_t p = 0; p < 4; ++p) {
    const std::string pre = "p" + std::to_string(p) + "-";
    EXPECT_EQ(by_partition(c.records)[p],
              (std::vector<std::string>{"5:" + pre + "5", "6:" + pre + "6"}));
  }
  EXPECT_TRUE(a.errors.empty());
  EXPECT_TRUE(b.errors.empty());
  EXPECT_TRUE(c.errors.empty());
  close(c);
}

}  // namespace
}  // namespace ferry::client
