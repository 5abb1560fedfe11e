// The single-node Kafka broker: owns the Kafka-facing state (topics and their partitions, parked
// fetches, groups, idempotent producers) and the listener, and dispatches each request to its API
// handler. The metadata store, the log manager, the clock and the cluster id belong to the
// composition root (app::Node, src/app/node.h), which opens them first and outlives the broker.
//
// Start-up (start()): the ACLs are loaded from meta.db, the partition logs under DATA/logs are
// recovered (topics load), idempotent producers' state rebuilt, groups loaded, then the
// listeners open: one net::Server per entry of config::listener_configs(), all sharing one
// MemoryBudget (queued.max.request.bytes). Each client is told the address of the listener it
// came in on. Shutdown: stop accepting and reading, answer parked fetches, let in-flight requests
// finish (bounded by a deadline), snapshot producer state; then `done` fires and the Node closes
// the logs and the store.
//
// Threading: everything runs on the loop passed in; blocking work (fsync, SQLite commits) runs
// on libuv's thread pool inside storage and meta and completes back here.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/auth/authenticator.h"
#include "broker/authz/authorizer.h"
#include "broker/broker_metrics.h"
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
#include "storage/cleaner.h"
#include "storage/log_manager.h"

namespace ferry::broker {

class DiskGuard;

class Broker {
 public:
  // `meta` and `logs` are open and outlive the broker; `cluster_id` is DATA/cluster.id's.
  Broker(uv_loop_t* loop, config::BrokerConfig config, const Clock& clock, meta::MetaStore& meta,
         storage::LogManager& logs, std::string cluster_id);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // A node of a cluster: topic changes through the metadata quorum (topic_quorum.h). Before
  // start(); outlives the broker.
  void set_quorum(TopicQuorum* quorum) noexcept { quorum_ = quorum; }
  Status start();
  // The bound port of the first listener, or of the listener named `name` (0 if none).
  uint16_t port() const noexcept;
  uint16_t port(std::string_view listener_name) const noexcept;
  // The address advertised for the listener a session came in on (the first listener's if the
  // session's listener is unknown).
  const config::HostPort& advertised_for(const net::Session& session) const noexcept;
  // Reads ssl.certificate.location, ssl.key.location and ssl.ca.location again (SIGHUP): new
  // TLS handshakes use them, open connections keep what they started with. On failure the
  // current certificate stays and the error says why. OK (nothing to do) without TLS listeners.
  Status reload_tls();
  // Graceful stop; `done` fires on the loop once requests drained and producer state is
  // snapshotted. The logs and the store stay open (their owner closes them after).
  void shutdown(std::function<void(Status)> done);

  uv_loop_t* loop() const noexcept { return loop_; }
  const config::BrokerConfig& config() const noexcept { return config_; }
  const Clock& clock() const noexcept { return clock_; }
  TopicManager& topics() noexcept { return *topics_; }
  GroupCoordinator& groups() noexcept { return *groups_; }
  ProducerRegistry& producers() noexcept { return *producers_; }
  meta::MetaStore& meta() noexcept { return meta_; }
  FetchWaiters& fetch_waiters() noexcept { return waiters_; }
  AppendQueues& append_queues() noexcept { return append_queues_; }
  // The disk-full policies (disk_guard.h); exists after start().
  DiskGuard& disk_guard() noexcept { return *disk_guard_; }
  // The log cleaner (compacted topics) and its counters; exists after start().
  const storage::Cleaner* cleaner() const noexcept { return cleaner_.get(); }
  // The ACLs and super users; ACL changes go through the ACL handlers (handlers/acls.cc).
  authz::Authorizer& authorizer() noexcept { return authorizer_; }
  const std::string& cluster_id() const noexcept { return cluster_id_; }
  // A cluster's id, agreed through its metadata log, replaces this node's own.
  void set_cluster_id(std::string id) { cluster_id_ = std::move(id); }
  // SASL: enabled mechanisms, credentials in memory, the failed-authentication limit.
  auth::Authenticator& authenticator() noexcept { return *authenticator_; }
  bool stopping() const noexcept { return stopping_; }
  // One housekeeping pass now (rolls, retention, producer snapshots, offset expiry); the timer
  // runs it every few minutes, power-loss tests call it at chosen points.
  void housekeeping();

  // Counters for the admin listener (broker_metrics.h).
  BrokerMetrics& metrics() noexcept { return *metrics_; }
  const BrokerMetrics& metrics() const noexcept { return *metrics_; }
  // For callbacks that may run after the broker is gone.
  const std::shared_ptr<BrokerMetrics>& shared_metrics() const noexcept { return metrics_; }
  struct ListenerInfo {
    std::string name;  // PLAINTEXT, SSL, ...
    std::string bind;  // host:port as configured
    uint16_t port = 0;
    bool listening = false;
    size_t connections = 0;
  };
  std::vector<ListenerInfo> listener_info() const;

 private:
  void on_request(net::ResponseSlot slot, Buffer frame, std::shared_ptr<net::Session> session);
  Status start_authenticator();
  void finish_shutdown();
  Status load_acls();
  static authz::AuthorizerConfig authorizer_config(const config::BrokerConfig& c);

  uv_loop_t* loop_;
  config::BrokerConfig config_;
  const Clock& clock_;
  meta::MetaStore& meta_;
  storage::LogManager& logs_;
  FetchWaiters waiters_;  // before topics_: partitions wake it
  std::unique_ptr<TopicManager> topics_;
  std::unique_ptr<GroupCoordinator> groups_;
  std::unique_ptr<ProducerRegistry> producers_;
  std::unique_ptr<DiskGuard> disk_guard_;
  std::unique_ptr<storage::Cleaner> cleaner_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  struct Listener {
    config::ListenerConfig config;
    std::unique_ptr<net::Server> server;
  };
  std::vector<Listener> listeners_;
  // The certificate of the SSL and SASL_SSL listeners (one for all); null without them.
  std::shared_ptr<tls::ReloadableServerContext> tls_;
  size_t listeners_draining_ = 0;
  AppendQueues append_queues_;
  authz::Authorizer authorizer_;
  UvTimer housekeeping_timer_;
  std::unique_ptr<UvTimer> drain_timer_;
  std::function<void(Status)> shutdown_done_;
  std::string cluster_id_;
  std::shared_ptr<BrokerMetrics> metrics_ = std::make_shared<BrokerMetrics>();
  bool stopping_ = false;
  TopicQuorum* quorum_ = nullptr;
};

}  // namespace ferry::broker
