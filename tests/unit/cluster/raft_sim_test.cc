// The Raft core under a deterministic simulation (raft_sim.h): many seeds, each with a scenario
// of network faults, partitions, crashes and transfers, every invariant checked after every
// event, convergence after healing.
//
//   FERRY_RAFT_SIM_RUNS=N    how many seeds (default sized for CI, ASan and qemu legs)
//   FERRY_RAFT_SIM_SEED=S    replay one seed, with a trace of what happened
//   FERRY_RAFT_SIM_FIRST=S   the first seed of the runs (default 1)
//   FERRY_RAFT_SIM_ALL=1     go on after a failing seed and count them (mutation checks)
#include "raft_sim.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace ferry::cluster::test {
namespace {

// The scenarios; a seed picks one (seed % count), so a seed alone replays a run.
const SimScenario kScenarios[] = {
    {"calm-3", 3, 0.0, 0.0, 5, false, false, false, false, false, 4},
    {"lossy-3", 3, 0.10, 0.05, 30, false, false, false, false, false, 2},
    {"partitions-3", 3, 0.02, 0.02, 10, true, true, false, false, false, 3},
    {"crashes-3", 3, 0.02, 0.0, 10, false, false, true, true, false, 1},
    {"transfers-3", 3, 0.05, 0.02, 10, true, false, false, false, true, 3},
    {"splits-5", 5, 0.05, 0.02, 15, true, true, false, false, false, 2},
    {"crashes-5", 5, 0.02, 0.02, 10, true, false, true, true, false, 1},
    {"chaos-3", 3, 0.05, 0.05, 20, true, true, true, true, true, 2},
    {"chaos-5", 5, 0.05, 0.05, 20, true, true, true, true, true, 2},
    {"churn-3", 3, 0.02, 0.0, 20, true, false, true, false, false, 1, 300, 60, 0.5},
    {"churn-5", 5, 0.02, 0.0, 20, true, false, true, false, false, 1, 300, 60, 0.5},
};
constexpr uint64_t kScenarioCount = sizeof(kScenarios) / sizeof(kScenarios[0]);
constexpr int64_t kChaosMs = 2500;
constexpr int64_t kSettleMs = 5000;

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::strtoull(v, nullptr, 10);
}

std::string replay_command(uint64_t seed) {
  return "FERRY_RAFT_SIM_SEED=" + std::to_string(seed) +
         " build/native/tests/cluster_test --gtest_filter='RaftSim.*'";
}

TEST(RaftSim, InvariantsHoldAndTheGroupConvergesForEverySeed) {
  if (const char* one = std::getenv("FERRY_RAFT_SIM_SEED"); one && *one) {
    const uint64_t seed = std::strtoull(one, nullptr, 10);
    const SimScenario& scenario = kScenarios[seed % kScenarioCount];
    RaftSim sim(scenario, seed, /*trace=*/true);
    const bool ok = sim.run(kChaosMs, kSettleMs);
    for (const std::string& line : sim.trace()) std::printf("%s\n", line.c_str());
    std::printf("seed %llu, scenario %s: %llu events, %llu acknowledged, epochs up to %llu\n",
                static_cast<unsigned long long>(seed), scenario.name,
                static_cast<unsigned long long>(sim.events()),
                static_cast<unsigned long long>(sim.acknowledged()),
                static_cast<unsigned long long>(sim.elections()));
    EXPECT_TRUE(ok) << sim.failure();
    return;
  }
  const uint64_t runs = env_u64("FERRY_RAFT_SIM_RUNS", 1500);
  const uint64_t first = env_u64("FERRY_RAFT_SIM_FIRST", 1);
  const bool all = env_u64("FERRY_RAFT_SIM_ALL", 0) != 0;
  uint64_t acknowledged = 0, events = 0, failed = 0;
  uint64_t failed_by_scenario[kScenarioCount] = {};
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t seed = first; seed < first + runs; ++seed) {
    const SimScenario& scenario = kScenarios[seed % kScenarioCount];
    RaftSim sim(scenario, seed);
    if (!sim.run(kChaosMs, kSettleMs)) {
      ++failed_by_scenario[seed % kScenarioCount];
      if (failed++ < 3) {
        ADD_FAILURE() << "seed " << seed << " (scenario " << scenario.name << "): " << sim.failure()
                      << "\nreplay: " << replay_command(seed);
      }
      if (!all) return;
      continue;
    }
    acknowledged += sim.acknowledged();
    events += sim.events();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "%llu runs (seeds %llu..%llu), %llu failed, %llu events, %llu acknowledged "
      "appends, %.2f s\n",
      static_cast<unsigned long long>(runs), static_cast<unsigned long long>(first),
      static_cast<unsigned long long>(first + runs - 1), static_cast<unsigned long long>(failed),
      static_cast<unsigned long long>(events), static_cast<unsigned long long>(acknowledged),
      seconds);
  if (failed > 0) {
    for (uint64_t i = 0; i < kScenarioCount; ++i) {
      std::printf("  %s: %llu failed\n", kScenarios[i].name,
                  static_cast<unsigned long long>(failed_by_scenario[i]));
    }
  }
  // The runs did something: appends were acknowledged (a run acknowledging nothing checks little).
  EXPECT_GT(acknowledged, runs * 10);
}

// The same seed gives the same run: a failure printed with its seed replays exactly.
TEST(RaftSim, ARunIsDeterministic) {
  for (uint64_t seed : {7u, 8u, 16u}) {
    RaftSim a(kScenarios[seed % kScenarioCount], seed);
    RaftSim b(kScenarios[seed % kScenarioCount], seed);
    ASSERT_TRUE(a.run(kChaosMs, kSettleMs)) << a.failure();
    ASSERT_TRUE(b.run(kChaosMs, kSettleMs)) << b.failure();
    EXPECT_EQ(a.events(), b.events());
    EXPECT_EQ(a.acknowledged(), b.acknowledged());
    EXPECT_EQ(a.elections(), b.elections());
  }
}

}  // namespace
}  // namespace ferry::cluster::test
