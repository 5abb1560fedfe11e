// Node: the composition root of one ferry process. It owns what outlives any single protocol
// front end — the metadata store (DATA/meta.db), the partition logs (storage::LogManager under
// DATA/logs), the cluster id, the clock and the loop whose libuv thread pool runs blocking work
// (fsync, SQLite commits, large record checks) — and builds the services over them, handing each
// references: today the Kafka broker (broker::Broker).
//
// Start-up order (start()):
//   1. DATA/logs created, DATA/cluster.id read or created
//   2. DATA/meta.db opened (migrated), its space reserve set
//   3. the log manager created; the broker's start() then recovers the partition logs (topics
//      load), rebuilds idempotent producers' state, loads groups and opens the Kafka listener
//   4. the mirrors (mirror::MirrorService, one per [[mirror]] section) over the broker's
//      partitions and their retention floors, started after the broker so they find the
//      partitions loaded; (not built yet:) the replication engine before them.
//   5. the admin HTTP listener (admin::AdminService, admin.listen; none when empty) last, so
//      that /health/ready answers only once everything above is up.
// Shutdown order (shutdown()): the services built after the broker stop first (the admin
// listener, then the mirrors), then
// the broker drains (stops accepting, answers parked fetches, lets in-flight requests finish,
// snapshots producer state), then the logs are flushed and closed, then the store is closed.
//
// platform::FileSystem: every file under DATA (cluster.id, meta.db through its SQLite VFS, the
// partition logs) is reached through the one `fs` the Node is given — the real one, or a
// fault-injecting one in power-loss tests — which must outlive the Node.
//
// Threading: everything on `loop`'s thread; `done` callbacks fire there. The loop is the
// caller's and must outlive the Node; run it until shutdown's `done` fired before destroying it.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "admin/admin_service.h"
#include "broker/broker.h"
#include "common/clock.h"
#include "common/result.h"
#include "config/broker_config.h"
#include "meta/store.h"
#include "mirror/service.h"
#include "platform/file_system.h"
#include "storage/log_manager.h"

namespace ferry::cluster {
class ClusterNode;
}

namespace ferry::app {

class Node {
 public:
  Node(uv_loop_t* loop, config::BrokerConfig config, const Clock& clock = Clock::system(),
       platform::FileSystem& fs = platform::real_fs());
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Start-up progress in a few words ("recovering partition logs: 128 opened"), for the service
  // manager's STATUS= line; called on the loop thread during start(). Set before start().
  using StartProgress = std::function<void(const std::string& status)>;
  void set_start_progress(StartProgress progress) { start_progress_ = std::move(progress); }
  // Partitions opened between two progress reports during recovery.
  static constexpr size_t kProgressEveryPartitions = 64;

  // Opens everything in the order above. On error, call shutdown() to close what was opened.
  Status start();
  // Stops in the order above; `done` fires once, on the loop, with the first error met.
  void shutdown(std::function<void(Status)> done);

  // Valid once start() has run (the broker exists from the moment the store is open).
  broker::Broker& broker() noexcept { return *broker_; }
  bool has_broker() const noexcept { return broker_ != nullptr; }
  uint16_t port() const noexcept { return broker_ ? broker_->port() : 0; }
  // The admin listener's bound port (0 when admin.listen is empty or before start()).
  uint16_t admin_port() const noexcept { return admin_ ? admin_->port() : 0; }
  // The admin listener (null when admin.listen is empty or before start()).
  admin::AdminService* admin() noexcept { return admin_.get(); }
  const std::string& cluster_id() const noexcept { return cluster_id_; }
  const config::BrokerConfig& config() const noexcept { return config_; }

 private:
  Status load_cluster_id();
  void close_storage(Status first, std::function<void(Status)> done);

  uv_loop_t* loop_;  // its libuv thread pool runs the off-loop work of storage, meta and broker
  config::BrokerConfig config_;
  const Clock& clock_;
  platform::FileSystem& fs_;
  std::string cluster_id_;
  std::unique_ptr<meta::MetaStore> meta_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<cluster::ClusterNode> cluster_;  // with a [cluster] table
  std::unique_ptr<mirror::MirrorService> mirrors_;
  std::unique_ptr<admin::AdminService> admin_;
  StartProgress start_progress_;
  // Built next to the broker (future work): the replication engine.
  bool stopping_ = false;
};

}  // namespace ferry::app
