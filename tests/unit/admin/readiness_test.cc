// /health/ready's rules on a running broker: a data directory below log.dir.min.free.bytes (the
// disk guard's free-space source faked) makes the broker not ready with a "disk full" reason,
// and ready again once space is back.
#include <gtest/gtest.h>

#include <string>

#include "admin/admin_view.h"
#include "broker/disk_guard.h"
#include "unit/broker/broker_fixture.h"

namespace ferry::admin {
namespace {

class ReadinessTest : public broker::test::BrokerFixture {
 protected:
  void configure(config::BrokerConfig& c) override { c.log_dir_min_free_bytes = 64 << 20; }

  AdminView view() {
    AdminView v;
    v.broker = broker_;
    v.data_dir = dir_.path();
    return v;
  }
  // The reasons check_ready gives that start with "disk full".
  static int disk_full_reasons(const Readiness& r) {
    int n = 0;
    for (const auto& why : r.reasons) n += why.rfind("disk full", 0) == 0 ? 1 : 0;
    return n;
  }
  uint64_t free_ = uint64_t{1} << 30;
};

TEST_F(ReadinessTest, DiskBelowMinFreeMakesTheBrokerNotReady) {
  ASSERT_NE(broker_, nullptr);
  broker::DiskGuard& guard = broker_->disk_guard();
  guard.set_free_space([this]() -> Result<platform::SpaceInfo> {
    return platform::SpaceInfo{uint64_t{2} << 30, free_};
  });
  guard.check();
  EXPECT_EQ(disk_full_reasons(check_ready(view())), 0);

  free_ = 1 << 20;  // 1 MiB free, below the 64 MiB minimum
  guard.check();
  ASSERT_TRUE(guard.low());
  const Readiness r = check_ready(view());
  EXPECT_FALSE(r.ready);
  ASSERT_EQ(disk_full_reasons(r), 1);
  for (const auto& why : r.reasons) {
    if (why.rfind("disk full", 0) == 0) {
      EXPECT_NE(why.find("1048576 bytes free"), std::string::npos) << why;
      EXPECT_NE(why.find("log.dir.min.free.bytes (67108864)"), std::string::npos) << why;
    }
  }

  free_ = uint64_t{1} << 30;  // space is back
  guard.check();
  EXPECT_EQ(disk_full_reasons(check_ready(view())), 0);
}

}  // namespace
}  // namespace ferry::admin
