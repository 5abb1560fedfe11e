// A target topic deleted while the mirror forwards to it, and never re-created: the partition
// cannot reconcile (the target does not know the topic). Its retries must back off up to
// reconnect.backoff.max.ms instead of hammering the target at the minimum backoff, the link
// must stay connected (the target answers), and the status must say what is wrong and how
// often it failed. The target is a second in-process node on the same loop.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "mirror/service.h"
#include "mirror/status.h"
#include "support/test_support.h"
#include "unit/broker/broker_fixture.h"

namespace ferry::mirror {
namespace {

class MirrorTargetGone : public broker::test::BrokerFixture {
 protected:
  void configure(config::BrokerConfig& c) override {
    config::BrokerConfig t;
    t.data_dir = target_dir_.path();
    t.listen = {"127.0.0.1", 0};
    t.advertised = {"127.0.0.1", 0};
    t.admin_listen = "";
    t.auto_create_topics = false;  // deleted for good: nothing re-creates it
    target_ = std::make_unique<app::Node>(&loop_, t);
    auto st = target_->start();
    ASSERT_TRUE(st.ok()) << st.error().to_string();
    c.admin_listen = "";
    config::MirrorConfig m;
    m.name = "central";
    m.bootstrap_servers = {"127.0.0.1:" + std::to_string(target_->broker().port())};
    m.topics = {"t"};
    m.target_topic = "site.{topic}";
    m.linger_ms = 1;
    m.request_timeout_ms = 2000;
    m.reconnect_backoff_ms = 50;
    m.reconnect_backoff_max_ms = 1000;
    m.reconnect_backoff_jitter = 0;
    m.heartbeats_interval_ms = 0;
    c.mirrors.push_back(m);
  }
  void TearDown() override {
    conns_.clear();
    stop_broker();
    if (target_) {
      bool done = false;
      target_->shutdown([&](Status) { done = true; });
      run_until([&] { return done; });
      target_.reset();
    }
    BrokerFixture::TearDown();
  }

  std::optional<StatusRow> status_row() {
    std::ifstream in(status_file_path(dir_.path()));
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    auto s = parse_status_file(text.str());
    if (!s.ok() || s->rows.size() != 1) return std::nullopt;
    return s->rows[0];
  }

  void append(const std::string& prefix) {
    auto part = broker_->topics().partition("t", 0);
    ASSERT_TRUE(part);
    std::vector<std::byte> batch = ferry::test::make_batch(5, prefix);
    ASSERT_TRUE(part->append(batch).ok());
    part->flush([](Status) {});
  }

  ferry::test::TempDir target_dir_;
  std::unique_ptr<app::Node> target_;
};

TEST_F(MirrorTargetGone, RetriesBackOffAndTheStatusSaysWhy) {
  ASSERT_EQ(create_topic("t", 1).topics.at(0).error_code, 0);
  append("a");
  std::optional<StatusRow> r;
  ASSERT_TRUE(run_until(
      [&] {
        r = status_row();
        return r && r->forwarded == 5;
      },
      15000))
      << (r ? r->last_error : "no status");

  broker::test::TestConn& c = connect(target_->broker().port());
  protocol::DeleteTopicsRequest del;
  del.topic_names = {"site.t"};
  ASSERT_EQ(call<protocol::DeleteTopicsResponse>(c, protocol::ApiKey::delete_topics, 3, del)
                .responses.at(0)
                .error_code,
            0);
  append("b");  // its Produce fails; the partition then cannot reconcile
  // 4.5 s: with the backoff 50, 100, 200, 400, 800, 1000, 1000 ms about 7 retries; at the
  // minimum backoff it would be about 90.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(4500);
  run_until([&] { return std::chrono::steady_clock::now() >= until; }, 5000);
  r = status_row();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->forwarded, 5);
  EXPECT_EQ(r->state, "reconciling");
  EXPECT_EQ(r->link_state, "connected") << "the target answers: the link is fine";
  EXPECT_NE(r->last_error.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << r->last_error;
  const size_t at = r->last_error.find("(failed ");
  ASSERT_NE(at, std::string::npos) << r->last_error;
  const int failed = std::stoi(r->last_error.substr(at + 8));
  EXPECT_GE(failed, 3) << r->last_error;
  EXPECT_LE(failed, 10) << "retries back off: " << r->last_error;
}

}  // namespace
}  // namespace ferry::mirror
