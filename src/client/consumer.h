// An asynchronous Kafka consumer on the client's loop: manual assignment with seeks, or group
// membership with a subscription; long-poll fetches from each partition's leader; decoded
// records handed out poll-style; commits to the group coordinator.
//
//   Consumer c(client, config);                  // config.group_id for group membership
//   c.assign({{"t", 0}});  c.seek({"t", 0}, SeekTarget::earliest());
//   // or: c.subscribe({"t"});
//   c.on_records([&] { for (auto& r : c.poll(100)) ...; });
//
// Positions: each assigned partition has a fetch position (the next offset to fetch) and a
// consumed position (the offset after the last record poll() returned), which is what commit()
// stores. Fetched records wait in a buffer until polled; a partition with buffered records is
// not fetched again (the buffer is the back-pressure). seek() and a changed assignment drop the
// partition's buffered records. Offsets crossing this API (records, position(),
// SeekTarget::at()) are ferry::Offset.
//
// Fetching: one Fetch in flight per leader, covering every fetchable partition it leads, with
// fetch_max_wait_ms / fetch_min_bytes (long poll), fetch_max_bytes and
// max_partition_fetch_bytes. Records below the fetch position inside a batch are skipped;
// control batches are skipped. OFFSET_OUT_OF_RANGE resets the position per auto_offset_reset
// (earliest/latest via ListOffsets; none reports the error and stops the partition);
// the leader errors (Client::is_leader_error), a lost connection and the like mark the topics'
// metadata stale in the Client's metadata cache, which is asked again (at most once per
// retry_backoff_ms), and the partitions are retried after retry_backoff_ms. Leaders come from
// that cache (Client::topic_metadata), shared with every other user of the Client.
//
// Groups (subscribe with group_id): membership is a GroupMember (client/group_member.h: join,
// sync, heartbeats, leave); the partitions it is assigned start from their committed offsets
// (OffsetFetch, else auto_offset_reset). On a rebalance every partition is given up, after an
// auto-commit with the old generation (the eager protocol). close() commits (auto-commit) and
// leaves the group.
//
// Errors are values: a failure the consumer cannot retry by itself (OFFSET_OUT_OF_RANGE with
// reset none, a corrupt batch, a group error such as GROUP_AUTHORIZATION_FAILED, a coordinator
// that stays unreachable, a batch that fails its CRC or does not decode - the consumer retries it,
// but the same bytes will come back) goes to on_error(); retriable ones are retried and also
// reported there when `report_retriable` is set. Nothing throws.
//
// Connections: the consumer sends through its Client, which keeps one connection per broker, so
// a heartbeat may wait behind a long-poll Fetch to the same broker (at most fetch_max_wait_ms),
// and consumers meant to be separate group members need separate Clients (a broker answers a
// connection's requests in order, and JoinGroup is answered only when the rebalance completes).
//
// Threading: loop thread only; every callback runs on the loop thread, never inside the call
// that caused it. Ownership: the caller owns the Consumer and the Client it uses; the Client
// must outlive the Consumer. The Consumer may be destroyed at any time on the loop thread (also
// from its callbacks); its pending work is then dropped.
#pragma once

#include <uv.h>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/group_member.h"
#include "client/kafka_error.h"
#include "client/topic_partition.h"
#include "common/uv_timer.h"

namespace ferry::client {

enum class OffsetReset { earliest, latest, none };

struct ConsumerConfig {
  std::optional<std::string> group_id;
  OffsetReset auto_offset_reset = OffsetReset::latest;
  int32_t fetch_max_wait_ms = 500;
  int32_t fetch_min_bytes = 1;
  int32_t fetch_max_bytes = 50 << 20;
  int32_t max_partition_fetch_bytes = 1 << 20;
  uint64_t retry_backoff_ms = 100;
  // Group membership.
  std::string assignor = "range";  // range | roundrobin
  int32_t session_timeout_ms = 10'000;
  int32_t rebalance_timeout_ms = 30'000;
  uint64_t heartbeat_interval_ms = 3'000;
  bool enable_auto_commit = true;
  uint64_t auto_commit_interval_ms = 5'000;
  bool report_retriable = false;
};

struct ConsumerRecord {
  std::string topic;
  int32_t partition = 0;
  Offset offset{0};
  int64_t timestamp = -1;
  bool log_append_time = false;
  std::optional<std::string> key;  // nullopt = null; bytes as they came (not necessarily UTF-8)
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

// Where seek() moves a partition.
struct SeekTarget {
  enum class Kind { offset, earliest, latest, timestamp };
  Kind kind = Kind::offset;
  int64_t value = 0;  // the offset or the timestamp (ms)
  static SeekTarget at(Offset offset) { return {Kind::offset, offset.value()}; }
  static SeekTarget earliest() { return {Kind::earliest, 0}; }
  static SeekTarget latest() { return {Kind::latest, 0}; }
  // The first record with a timestamp >= ms (the log end when there is none).
  static SeekTarget by_time(int64_t ms) { return {Kind::timestamp, ms}; }
};

class Consumer {
 public:
  Consumer(Client& client, ConsumerConfig config);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Called (on a later loop turn) when poll() has records to give.
  void on_records(std::function<void()> fn) { on_records_ = std::move(fn); }
  void on_error(std::function<void(const KafkaError&)> fn) { on_error_ = std::move(fn); }
  // Called after each group assignment (the partitions now owned; empty while rejoining).
  void on_assignment(std::function<void(const std::vector<TopicPartition>&)> fn) {
    on_assignment_ = std::move(fn);
  }

  // Manual assignment: replaces the assigned partitions. New partitions start from their
  // committed offset when group_id is set, else from auto_offset_reset, until seek().
  void assign(const std::vector<TopicPartition>& partitions);
  void seek(const TopicPartition& tp, SeekTarget target);
  // Group membership for `topics` (needs group_id).
  void subscribe(std::vector<std::string> topics);

  // Up to `max` buffered records, oldest first per partition; advances consumed positions.
  std::vector<ConsumerRecord> poll(size_t max);
  bool has_records() const noexcept { return buffered_ > 0; }

  std::vector<TopicPartition> assignment() const;
  // The next offset to fetch; nullopt while unknown (being looked up) or not assigned.
  std::optional<Offset> position(const TopicPartition& tp) const;
  // True while group membership is settled (joined and synced), or always without a group.
  bool stable() const noexcept { return !group_ || group_->stable(); }

  // Commits the consumed positions of the assigned partitions (those that moved since the last
  // commit) to the group; `done` gets the first error, or success. Nothing to commit succeeds.
  void commit(std::function<void(KafkaStatus)> done);
  // Stops fetching and timers; commits when auto-commit is on, leaves the group, then `done`.
  void close(std::function<void()> done);

 private:
  struct Part {
    int64_t position = -1;              // next offset to fetch; -1 = unknown
    std::optional<SeekTarget> pending;  // an offset lookup to do (earliest/latest/timestamp)
    bool need_committed = false;        // look up the committed offset first (groups)
    int64_t consumed = -1;              // offset after the last polled record
    int64_t committed = -1;             // last committed by us or fetched from the group
    int64_t high_watermark = -1;
    bool busy = false;      // a Fetch or ListOffsets covers it
    bool stopped = false;   // OFFSET_OUT_OF_RANGE with reset none
    uint64_t retry_at = 0;  // uv_now before which it is not fetched
    uint64_t epoch = 0;     // bumped by seek/assign so stale answers are ignored
    std::deque<ConsumerRecord> buffer;
  };

  // ---- leaders (the Client's metadata cache) ----
  // The leader of `tp`; nullopt while unknown or while its topic's metadata is being refreshed.
  std::optional<NodeId> leader_of(const TopicPartition& tp) const;
  // Marks every assigned topic stale in the Client's cache and asks for it again (at most once
  // per retry_backoff_ms); fetching resumes when the answers are in.
  void refresh_metadata();

  // ---- fetching ----
  void schedule();
  void schedule_soon(uint64_t delay_ms);
  void resolve_offsets();
  void fetch_committed();
  void send_fetch(NodeId node);
  void on_fetch_partition(const TopicPartition& tp, uint64_t epoch,
                          const protocol::FetchResponse::Topic::Partition& p);
  void retry_later(Part& part);
  // Hands `e` to on_error (retriable errors only with report_retriable, or when `always`).
  void report(const KafkaError& e, bool always = false);
  // Runs `fn` on a later loop turn (callbacks never run inside the call that caused them).
  void post(std::function<void()> fn);
  void run_posted();
  void notify_records();
  void set_assignment(const std::vector<TopicPartition>& partitions);

  // ---- group ----
  // GroupMember events: give up every partition (committing first), take the new assignment.
  void on_revoke();
  void on_assigned(const std::vector<TopicPartition>& partitions);
  void auto_commit();
  void do_commit(std::function<void(KafkaStatus)> done);

  // Wraps a callback so that it does nothing once this Consumer is gone.
  template <typename F>
  auto guard(F fn) {
    return [alive = std::weak_ptr<int>(life_), fn = std::move(fn)](auto&&... args) mutable {
      if (alive.expired()) return;
      fn(std::forward<decltype(args)>(args)...);
    };
  }

  Client& client_;
  ConsumerConfig config_;
  std::map<TopicPartition, Part> parts_;
  std::set<std::string> refreshing_;  // topics whose metadata is being asked for
  bool metadata_wanted_ = false;
  uint64_t last_metadata_ms_ = 0;
  uint64_t wake_due_ = 0;
  std::map<NodeId, bool> fetching_;  // a Fetch in flight to the node
  bool committed_lookup_ = false;
  size_t buffered_ = 0;
  bool closing_ = false;
  UvTimer wake_;   // schedules fetches, retries and on_records notification
  UvTimer defer_;  // runs posted_ on a later loop turn
  std::deque<std::function<void()>> posted_;
  bool records_notified_ = false;
  UvTimer commit_timer_;
  std::unique_ptr<GroupMember> group_;  // set by subscribe()

  std::function<void()> on_records_;
  std::function<void(const KafkaError&)> on_error_;
  std::function<void(const std::vector<TopicPartition>&)> on_assignment_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace ferry::client
