// MirrorService inside a running app::Node whose target cannot be reached: the forwarded
// partitions get their keep-until-mirrored floor at the lowest unforwarded offset (others get
// none), and the status file shows the link backing off with its error and every record behind.
#include "mirror/service.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "mirror/status.h"
#include "support/test_support.h"
#include "unit/broker/broker_fixture.h"

namespace ferry::mirror {
namespace {

class MirrorServiceTest : public broker::test::BrokerFixture {
 protected:
  void configure(config::BrokerConfig& c) override {
    config::MirrorConfig m;
    m.name = "central";
    m.bootstrap_servers = {"127.0.0.1:1"};  // nothing listens there: connections are refused
    m.topics = {"fw.*"};
    m.reconnect_backoff_ms = 10;
    m.reconnect_backoff_max_ms = 50;
    c.mirrors.push_back(m);
  }

  std::optional<StatusSnapshot> status_file() {
    std::ifstream in(status_file_path(dir_.path()));
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    auto s = parse_status_file(text.str());
    return s.ok() ? std::optional(*s) : std::nullopt;
  }
};

TEST_F(MirrorServiceTest, FloorsHoldUnforwardedDataAndStatusShowsTheLink) {
  ASSERT_EQ(create_topic("fw", 2).topics.at(0).error_code, 0);
  ASSERT_EQ(create_topic("other", 1).topics.at(0).error_code, 0);
  auto fw0 = broker_->topics().partition("fw", 0);
  auto other = broker_->topics().partition("other", 0);
  ASSERT_TRUE(fw0 && other);
  for (int i = 0; i < 3; ++i) {
    std::vector<std::byte> b = ferry::test::make_batch(5);
    ASSERT_TRUE(fw0->append(b).ok());
  }
  // Found by the topic poll (about a second): floor at the first unforwarded offset.
  EXPECT_TRUE(run_until([&] { return fw0->retention_floor().has_value(); }, 5000));
  EXPECT_EQ(fw0->retention_floor(), std::optional(Offset(0)));
  EXPECT_EQ(broker_->topics().partition("fw", 1)->retention_floor(), std::optional(Offset(0)));
  EXPECT_FALSE(other->retention_floor().has_value());

  std::optional<StatusSnapshot> s;
  EXPECT_TRUE(run_until(
      [&] {
        s = status_file();
        // The appends become visible once their write job is back on the loop: a file written
        // before that shows a source end of 0.
        return s && s->rows.size() == 2 && s->rows[0].link_state == "backing_off" &&
               s->rows[0].source_end == 15;
      },
      5000));
  ASSERT_TRUE(s && s->rows.size() == 2);
  const StatusRow& r = s->rows[0];
  EXPECT_EQ(r.mirror, "central");
  EXPECT_EQ(r.topic, "fw");
  EXPECT_EQ(r.partition, 0);
  EXPECT_EQ(r.target_topic, "fw");
  EXPECT_EQ(r.state, "starting");
  EXPECT_EQ(r.source_end, 15);
  EXPECT_EQ(r.forwarded, 0);
  EXPECT_EQ(r.records_behind, 15);
  EXPECT_FALSE(r.last_error.empty());
  EXPECT_GT(r.last_error_ms, 0);
}

}  // namespace
}  // namespace ferry::mirror
