// Unit tests for the config module: ferry.toml parsing, topic configs, DescribeConfigs entries,
// and the generated files (config/ferry.toml, docs/CONFIG.md) against the key table.
#include <gtest/gtest.h>

#include "config/broker_config.h"
#include "config/keys.h"
#include "config/topic_config.h"

namespace ferry::config {
namespace {

TEST(Config, EmptyFileGivesDefaults) {
  Result<BrokerConfig> c = parse_config("", "ferry.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(*c, BrokerConfig{});
}

}  // namespace
}  // namespace ferry::config
