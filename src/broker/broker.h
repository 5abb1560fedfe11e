// The single-node Kafka broker: owns the loop's state (metadata store, partition logs, topics,
// parked fetches) and the listener, and dispatches each request to its API handler.
//
// Start-up: DATA/meta.db is opened (migrated), DATA/cluster.id read or created, the partition
// logs under DATA/logs recovered, idempotent producers' state rebuilt, then the listener opens.
// Shutdown: stop accepting and reading, answer parked fetches, let in-flight requests finish
// (bounded by a deadline), snapshot producer state, then close the logs (flushing them) and the
// store.
//
// Threading: everything runs on the loop passed in; blocking work (fsync, SQLite commits) runs
// on libuv's thread pool inside storage and meta and completes back here.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "broker/fetch_waiters.h"
#include "broker/groups/group_coordinator.h"
#include "broker/partition_append.h"
#include "broker/producers/producer_registry.h"
#include "broker/topic_manager.h"
#include "common/clock.h"
#include "common/uv_timer.h"
#include "config/broker_config.h"
#include "meta/store.h"
#include "net/server.h"
#include "storage/log_manager.h"

namespace ferry::broker {

class Broker {
 public:
  // Every file under config.data_dir is reached through `fs` (a fault-injecting one in
  // power-loss tests), which must outlive the broker.
  Broker(uv_loop_t* loop, config::BrokerConfig config, const Clock& clock = Clock::system(),
         platform::FileSystem& fs = platform::real_fs());
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  Status start();
  uint16_t port() const noexcept;
  // Graceful stop; `done` fires on the loop once logs and store are closed.
  void shutdown(std::function<void(Status)> done);

  uv_loop_t* loop() const noexcept { return loop_; }
  const config::BrokerConfig& config() const noexcept { return config_; }
  const Clock& clock() const noexcept { return clock_; }
  TopicManager& topics() noexcept { return *topics_; }
  GroupCoordinator& groups() noexcept { return *groups_; }
  ProducerRegistry& producers() noexcept { return *producers_; }
  meta::MetaStore& meta() noexcept { return *meta_; }
  FetchWaiters& fetch_waiters() noexcept { return waiters_; }
  AppendQueues& append_queues() noexcept { return append_queues_; }
  const std::string& cluster_id() const noexcept { return cluster_id_; }
  bool stopping() const noexcept { return stopping_; }
  // One housekeeping pass now (rolls, retention, producer snapshots, offset expiry); the timer
  // runs it every few minutes, power-loss tests call it at chosen points.
  void housekeeping();

 private:
  void on_request(net::ResponseSlot slot, Buffer frame, const std::string& peer);
  Status load_cluster_id();
  void finish_shutdown();

  uv_loop_t* loop_;
  config::BrokerConfig config_;
  const Clock& clock_;
  platform::FileSystem& fs_;
  std::unique_ptr<meta::MetaStore> meta_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<TopicManager> topics_;
  std::unique_ptr<GroupCoordinator> groups_;
  std::unique_ptr<ProducerRegistry> producers_;
  std::unique_ptr<net::Server> server_;
  FetchWaiters waiters_;
  AppendQueues append_queues_;
  UvTimer housekeeping_timer_;
  std::unique_ptr<UvTimer> drain_timer_;
  std::function<void(Status)> shutdown_done_;
  std::string cluster_id_;
  bool stopping_ = false;
};

}  // namespace ferry::broker
