// A deterministic simulation of one Raft group: RaftCores over SimLogs, driven the way the
// node's replica manager drives them (persist the HardState, then send; one fetch at a time per
// follower, answers matched to it), on a simulated clock and network (loss, delay and so
// reordering, duplication, cut links), with crashes that lose every unflushed batch. Everything
// comes from one seed, so a failing run replays exactly.
//
// The invariants are checked after every event (see check_invariants()); the first violation
// stops the run and is kept in `failure()`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "cluster/raft_core.h"
#include "sim_log.h"

namespace ferry::cluster::test {

// What a run throws at the group.
struct SimScenario {
  const char* name = "";
  int nodes = 3;
  double loss = 0;                 // probability a message is lost
  double duplicate = 0;            // probability a message arrives twice
  int64_t max_delay_ms = 5;        // delays are 1..max: messages overtake each other
  bool isolate = false;            // cut one node off (and 2|1 or 3|2 splits)
  bool cut_links = false;          // cut single links, one way or both
  bool crashes = false;            // one node loses power and comes back
  bool power_cuts = false;         // several (or all) nodes lose power at once
  bool transfers = false;          // the leader hands over to a random voter
  size_t max_fetch_batches = 4;    // 1..this many batches per fetch answer
  int64_t nemesis_every_ms = 400;  // the nemesis acts every 50..this ms
  int64_t max_down_ms = 400;       // a crashed node is back after 20..this ms
  // Probability that a newly elected leader is crashed or cut off 5..80 ms after it won (with
  // its new tail on few nodes: where the commit rules are put to the test).
  double kill_new_leaders = 0;
};

class RaftSim {
 public:
  static constexpr int64_t kElectionTimeoutMs = 100;

  RaftSim(const SimScenario& scenario, uint64_t seed, bool trace = false);
  ~RaftSim();

  // Chaos for `chaos_ms` (clients appending, the nemesis acting), then the network heals,
  // every node comes back and clients stop; the group must converge within `settle_ms`.
  // Returns false (see failure()) on the first violated invariant or when it does not converge.
  bool run(int64_t chaos_ms, int64_t settle_ms);

  const std::string& failure() const { return failure_; }
  const std::vector<std::string>& trace() const { return trace_; }
  uint64_t acknowledged() const { return acked_count_; }
  uint64_t elections() const { return max_epoch_seen_; }
  uint64_t events() const { return events_; }

 private:
  struct FetchRequest {
    uint64_t id;
    FetchPosition position;
  };
  struct FetchResponse {
    uint64_t id;
    FetchAnswer answer;
    std::vector<SimBatch> batches;
  };
  using Payload = std::variant<RaftMessage, FetchRequest, FetchResponse>;

  enum class EventKind : uint8_t {
    deliver,
    tick,
    flush,
    client,
    nemesis,
    restart,
    fetch,
    kill,
    link_lost,  // `node` sees its connection to node `message` fail
  };
  struct Event {
    int64_t at;
    uint64_t seq;  // ties broken by scheduling order: deterministic
    EventKind kind;
    int node;
    uint64_t incarnation;  // events of a node's earlier life are dropped
    size_t message;        // deliver: index into messages_; link_lost: the node id
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  struct Message {
    int from;
    int to;
    Payload payload;
  };

  struct Node {
    int id = 0;
    bool up = true;
    uint64_t incarnation = 0;
    SimLog log;
    HardState persisted;
    std::unique_ptr<RaftCore> core;
    uint64_t outstanding_fetch = 0;  // 0: none
    int64_t fetch_sent_ms = 0;
    bool fetch_scheduled = false;
    // While it leads: the epoch and the last high watermark seen (monotonic check).
    LeaderEpoch led_epoch = kNoEpoch;
    Offset led_hw{0};
  };

  struct PendingAck {
    int node;
    LeaderEpoch epoch;
    uint64_t id;
    Offset end;
  };

  // Randomness.
  uint64_t below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  size_t pick(size_t n) { return static_cast<size_t>(below(n)); }  // an index below n
  bool chance(double p) { return static_cast<double>(rng_() >> 11) * 0x1.0p-53 < p; }
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1)));
  }

  void schedule(int64_t at, EventKind kind, int node, size_t message = 0);
  void start_core(Node& n);
  void send(int from, int to, Payload payload);
  void handle(const Event& e);
  void drive(Node& n);  // carry out the core's Ready
  void pump_fetch(Node& n, int64_t delay_ms);
  void on_fetch_request(Node& n, int from, const FetchRequest& request);
  void on_fetch_response(Node& n, int from, const FetchResponse& response);
  void create_batch(Node& n, int64_t count);
  void crash(Node& n);
  // The other nodes (each most of the time, after 1..max ms) see their connections to `dead`
  // fail, as a killed process's or a cut link's would: RaftCore::leader_unreachable.
  void report_link_lost(int dead, int64_t max_ms);
  void nemesis();
  int some_leader();  // a node that believes it leads (0: none)
  void heal_everything();
  bool converged();
  void check_invariants();
  void check_log_matching();
  void fail(const std::string& what);
  void note(const std::string& what);
  bool linked(int from, int to) const { return !cut_[static_cast<size_t>(from * kMaxNodes + to)]; }
  void set_link(int from, int to, bool up) {
    cut_[static_cast<size_t>(from * kMaxNodes + to)] = !up;
  }
  Node& node(int id) { return *nodes_[static_cast<size_t>(id - 1)]; }
  bool is_committed(uint64_t id) const {
    return id < committed_flag_.size() && committed_flag_[static_cast<size_t>(id)];
  }

  static constexpr int kMaxNodes = 8;

  SimScenario scenario_;
  uint64_t seed_;
  bool trace_on_;
  std::mt19937_64 rng_;
  int64_t now_ = 0;
  bool chaos_ = true;
  uint64_t seq_ = 0;
  uint64_t events_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::vector<Message> messages_;
  std::vector<size_t> free_messages_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<NodeId> voters_;
  std::vector<bool> cut_ = std::vector<bool>(kMaxNodes * kMaxNodes, false);
  uint64_t next_fetch_id_ = 1;
  uint64_t next_batch_id_ = 1;
  uint64_t seeds_used_ = 0;

  // Invariant state.
  std::string failure_;
  std::vector<std::string> trace_;
  std::vector<int> leader_of_epoch_;  // by epoch: the node that led it, 0: none seen
  std::vector<int> creator_of_epoch_;
  std::vector<Offset> created_end_of_epoch_;
  std::vector<SimBatch> committed_;                   // the committed prefix, in log order
  std::vector<uint8_t> committed_flag_;               // by batch id
  std::map<int32_t, Offset> committed_end_by_epoch_;  // by the epoch of the committing leader
  std::vector<PendingAck> pending_;
  std::vector<std::pair<uint64_t, Offset>> acked_;  // id, end
  uint64_t acked_count_ = 0;
  uint64_t max_epoch_seen_ = 0;
};

}  // namespace ferry::cluster::test
