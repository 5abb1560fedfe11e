// The Raft core's cost per call: an idle tick of a follower and of a leader (check quorum
// included), and a leader's on_fetch from a caught-up follower; with the heap allocations each
// makes (counted by replacing operator new in this program). Groups of three voters over
// in-memory logs (tests/unit/cluster/sim_log.h), many groups ticked in turn as the broker does.
//
//   raft_core_bench [groups (default 500)] [rounds (default 2000)]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "cluster/raft_core.h"
#include "sim_log.h"

namespace {
uint64_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace ferry::cluster::test {
namespace {

constexpr int64_t kTimeoutMs = 1000;

struct Group {
  SimLog logs[3];
  std::unique_ptr<RaftCore> cores[3];
};

// Three cores of one group, 1 elected leader at t=0 and the others following it, each holding
// `batches` batches, every follower having fetched at `fetched_at`.
void build(Group& g, uint64_t seed, int batches, int64_t fetched_at) {
  const std::vector<NodeId> voters{NodeId(1), NodeId(2), NodeId(3)};
  for (int i = 0; i < 3; ++i) {
    g.cores[i] =
        std::make_unique<RaftCore>(RaftConfig{NodeId(i + 1), voters, kTimeoutMs, 10 * kTimeoutMs},
                                   HardState{}, g.logs[i], seed + static_cast<uint64_t>(i), 0);
  }
  RaftCore& leader = *g.cores[0];
  // Elect 1 by hand: pre-votes, votes, BeginEpoch, and the answers.
  leader.tick(3 * kTimeoutMs);
  for (int round = 0; round < 3; ++round) {
    Ready r = leader.take_ready();
    for (auto& [to, m] : r.messages) {
      RaftCore& voter = *g.cores[to.value() - 1];
      voter.receive(NodeId(1), m, 3 * kTimeoutMs);
      for (auto& [back, answer] : voter.take_ready().messages) {
        leader.receive(to, answer, 3 * kTimeoutMs);
      }
    }
  }
  uint64_t id = 1;
  for (int b = 0; b < batches; ++b) {
    const Offset base = g.logs[0].end_offset();
    for (SimLog& log : g.logs) log.append(SimBatch{base, 4, leader.epoch(), id, id - 1});
    ++id;
  }
  for (SimLog& log : g.logs) log.flush();
  for (int i = 1; i < 3; ++i) {
    const auto position = g.cores[i]->next_fetch();
    if (!position) std::abort();
    const FetchAnswer answer = leader.on_fetch(*position, fetched_at);
    g.cores[i]->on_fetch_answer(NodeId(1), answer, fetched_at);
  }
  for (auto& core : g.cores) core->take_ready();
  if (leader.role() != Role::leader) std::abort();
}

double ns_per(std::chrono::steady_clock::duration d, uint64_t ops) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) /
         static_cast<double>(ops);
}

int run(int groups_count, int rounds) {
  const int64_t fetched_at = 3 * kTimeoutMs + 1400;
  std::vector<Group> groups(static_cast<size_t>(groups_count));
  for (size_t g = 0; g < groups.size(); ++g) build(groups[g], g * 3 + 1, 100, fetched_at);

  // Idle ticks: 1.6 s after the election (check quorum runs), 0.2 s after the last fetch.
  const int64_t now = 3 * kTimeoutMs + 1600;
  uint64_t ops = 0;
  uint64_t before = g_allocations;
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (Group& g : groups) g.cores[1]->tick(now + r % 50);
    ops += groups.size();
  }
  const double follower_ns = ns_per(std::chrono::steady_clock::now() - start, ops);
  const uint64_t follower_allocs = g_allocations - before;

  ops = 0;
  before = g_allocations;
  start = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (Group& g : groups) g.cores[0]->tick(now + r % 50);
    ops += groups.size();
  }
  const double leader_ns = ns_per(std::chrono::steady_clock::now() - start, ops);
  const uint64_t leader_allocs = g_allocations - before;
  for (Group& g : groups) {
    if (!g.cores[0]->take_ready().empty() || !g.cores[1]->take_ready().empty()) {
      std::fprintf(stderr, "an idle tick produced output\n");
      return 1;
    }
  }

  // on_fetch from a caught-up follower (the leader's answer when the driver's long poll ends).
  ops = 0;
  before = g_allocations;
  start = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (Group& g : groups) {
      const FetchPosition position{LeaderEpoch(1), NodeId(2 + r % 2), g.logs[1].end_offset(),
                                   LeaderEpoch(1), g.logs[1].durable_offset()};
      const FetchAnswer answer = g.cores[0]->on_fetch(position, now + r % 50);
      if (answer.status != FetchStatus::ok) std::abort();
    }
    ops += groups.size();
  }
  const double fetch_ns = ns_per(std::chrono::steady_clock::now() - start, ops);
  const uint64_t fetch_allocs = g_allocations - before;

  std::printf("groups: %d (3 voters each), rounds: %d\n", groups_count, rounds);
  std::printf("idle tick, follower:      %7.1f ns/op, %llu allocations\n", follower_ns,
              static_cast<unsigned long long>(follower_allocs));
  std::printf("idle tick, leader:        %7.1f ns/op, %llu allocations\n", leader_ns,
              static_cast<unsigned long long>(leader_allocs));
  std::printf("on_fetch, caught up:      %7.1f ns/op, %llu allocations\n", fetch_ns,
              static_cast<unsigned long long>(fetch_allocs));
  std::printf("sizeof(RaftCore): %zu bytes\n", sizeof(RaftCore));
  return follower_allocs == 0 && leader_allocs == 0 && fetch_allocs == 0 ? 0 : 1;
}

}  // namespace
}  // namespace ferry::cluster::test

int main(int argc, char** argv) {
  const int groups = argc > 1 ? std::atoi(argv[1]) : 500;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 2000;
  return ferry::cluster::test::run(groups, rounds);
}
