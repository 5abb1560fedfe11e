// Mirror: one [[mirror]] section at work — forwards the matching local topics to a central
// Kafka cluster exactly once (design: docs/mirror.md).
//
// Per source partition a small state machine:
//   starting     the target topic is looked up (created when missing); a partition seen for the
//                first time records a checkpoint (its start offset, the target's log end)
//   reconciling  fetches the target from the last recorded target offset and resumes right
//                after the last batch carrying one of the mirror's producer ids (reconcile.h)
//   forwarding   reads stored batches from the log (below the high watermark and the durable
//                offset), rewrites producer id / epoch / base sequence (= source offset mod
//                2^31) and CRC, sends each as one Produce entry, up to max.in.flight at once;
//                each acknowledgement records (source offset, target offset) in meta.db
//   stopped      the target lost data (with target.lost.policy = stop) or holds the mirror's
//                batches out of order: logged at ERROR, nothing more is sent for that partition
// With target.lost.policy = resend, a target that lost data is scanned instead (lost_target.h)
// and forwarding starts again, under a new producer id, from the first source offset the target
// cannot be shown to hold. Liveness: a heartbeat record every heartbeats.interval.ms
// (heartbeat.h); the client's connection watchdog closes a connection gone silent.
// The link's batches are sent one at a time by the pump: a Scheduler picks which ready
// partition sends next (per-topic `priorities`, turns among equals) and a TokenBucket holds
// the link to bandwidth.bytes.per.second (a timer wakes the pump when it may send again).
// Any failed or uncertain request (lost connection, timeout, an error in the answer) stops the
// partition's sending; once all its requests are back, it reconciles before sending again.
// Sequence and fencing errors also take a new producer id for the whole mirror. Producer ids
// are committed to meta.db before their first use.
//
// Threading: the broker's loop thread only (reads the logs on it, like the fetch path; meta.db
// writes go through the store's group commit). Ownership: the TopicManager, MetaStore and Clock
// outlive the Mirror; stop() before destroying it, on the loop.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/topic_manager.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/uv_timer.h"
#include "config/mirror_config.h"
#include "meta/store.h"
#include "mirror/scheduler.h"
#include "mirror/status.h"
#include "mirror/token_bucket.h"

namespace ferry::client {
class Client;
}

namespace ferry::mirror {

class Reconciler;
class Heartbeat;

// Test-only switch (environment FERRY_MIRROR_UNSAFE_NO_RECONCILE=1): after a start or an
// uncertain outcome, resume from the local checkpoint under a new producer id without looking
// at the target (what an at-least-once forwarder does), to show the duplicates reconciliation
// prevents.
bool reconciliation_disabled();

class Mirror {
 public:
  Mirror(uv_loop_t* loop, config::MirrorConfig config, int32_t node_id,
         broker::TopicManager& topics, meta::MetaStore& meta, const Clock& clock);
  ~Mirror();
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  // Reads the mirror's checkpoints and producer ids from meta.db, finds the matching topics
  // and starts forwarding. Errors: meta.db unreadable, the SASL password file unreadable.
  Status start();
  // Stops sending and closes the connections; `done` runs on the loop once nothing is pending.
  void stop(std::function<void()> done);

  const config::MirrorConfig& config() const noexcept { return config_; }
  // The lowest source offset not yet acknowledged, per forwarded partition: retention must not
  // delete at or above it.
  std::vector<std::pair<storage::TopicPartition, Offset>> floors() const;
  // Rows for the status file (status.h).
  std::vector<StatusRow> status() const;
  // Called after new partitions were found, so floors are applied at once.
  void on_partitions_changed(std::function<void()> fn) { partitions_changed_ = std::move(fn); }

 private:
  struct Link;
  struct InFlight;
  enum class State { starting, reconciling, forwarding, stopped };

  void poll_topics();
  void add_partition(const std::string& topic, int32_t partition);
  void prepare(const std::shared_ptr<Link>& l);
  void grow_target(const std::shared_ptr<Link>& l, size_t target_partitions);
  void record_first_checkpoint(const std::shared_ptr<Link>& l);
  void reconcile(const std::shared_ptr<Link>& l);
  void fetch_target(const std::shared_ptr<Link>& l, std::shared_ptr<Reconciler> r, int64_t from);
  void reconciled(const std::shared_ptr<Link>& l, Offset source, int64_t target);
  void pump();
  void schedule_pump();
  bool may_send(const std::shared_ptr<Link>& l);
  uint64_t send_next(const std::shared_ptr<Link>& l);
  void send(const std::shared_ptr<Link>& l, std::vector<std::byte> batch, Offset base, Offset next);
  void on_answer(const std::shared_ptr<Link>& l, uint64_t serial, std::optional<int64_t> target,
                 std::optional<std::string> error, bool new_producer);
  void settle(const std::shared_ptr<Link>& l);
  void checkpoint(const std::shared_ptr<Link>& l);
  void new_producer_id();
  void stop_partition(const std::shared_ptr<Link>& l, const std::string& why);
  // The target lost acknowledged records: stop the partition or resend (target.lost.policy).
  void target_lost(const std::shared_ptr<Link>& l, const std::string& why);
  void link_ok();
  void link_failed(const std::string& error);
  void start_heartbeat();
  void retry_later(const std::shared_ptr<Link>& l, std::function<void()> fn);
  // reconnect.backoff.ms doubled per consecutive failure up to reconnect.backoff.max.ms, spread
  // by reconnect.backoff.jitter.
  uint64_t backoff_ms(int failures);

  uv_loop_t* loop_;
  config::MirrorConfig config_;
  int32_t node_id_;
  broker::TopicManager& topics_;
  meta::MetaStore& meta_;
  const Clock& clock_;
  bool no_reconcile_ = false;
  std::unique_ptr<client::Client> client_;
  std::unique_ptr<Heartbeat> heartbeat_;  // uses client_: declared after it, destroyed first
  std::map<storage::TopicPartition, std::shared_ptr<Link>> links_;
  std::map<storage::TopicPartition, meta::MirrorCheckpoint> checkpoints_;  // from meta.db
  std::set<int64_t> producer_ids_;                                         // recorded ones
  // The producer id new sends use; -1 while a new one is being obtained and recorded.
  int64_t producer_id_ = -1;
  int16_t epoch_ = 0;
  bool producer_pending_ = false;
  uint64_t serial_ = 0;
  // The link (status).
  std::string link_state_ = "connecting";
  int64_t link_since_ms_ = 0;
  int64_t reconnects_ = 0;
  std::string last_error_;
  int64_t last_error_ms_ = 0;
  int failures_ = 0;  // consecutive, for the backoff
  std::unique_ptr<UvTimer> poll_timer_;
  std::unique_ptr<UvTimer> pump_timer_;
  // Flow control (docs/mirror.md): which partition sends next, and the link's byte budget.
  Scheduler scheduler_;
  std::unique_ptr<TokenBucket> bucket_;
  std::unique_ptr<UvTimer> flow_timer_;  // wakes the pump when the bucket allows again
  uint64_t link_ids_ = 0;
  bool pumping_ = false;
  std::unique_ptr<UvTimer> producer_timer_;
  std::unique_ptr<UvTimer> stop_timer_;
  std::function<void()> partitions_changed_;
  bool stopping_ = false;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace ferry::mirror
