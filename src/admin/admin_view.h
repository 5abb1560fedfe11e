// What the admin endpoints read: references to the running node's parts, gathered by
// app::Node, plus the admin listener's own counters. Everything is read on the loop thread at
// request time; nothing here is copied or cached between requests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "cluster/cluster_node.h"
#include "common/histogram.h"
#include "meta/store.h"
#include "mirror/service.h"
#include "storage/log_manager.h"

namespace ferry::admin {

// fsync jobs as the storage Flusher reports them (storage/flusher.h set_job_observer).
struct FsyncStats {
  uint64_t jobs = 0;
  uint64_t datasyncs = 0;
  Histogram duration;  // per job: its syncs of every log it covered
};

struct AdminView {
  broker::Broker* broker = nullptr;  // started (its disk guard exists)
  storage::LogManager* logs = nullptr;
  meta::MetaStore* meta = nullptr;
  const mirror::MirrorService* mirrors = nullptr;  // null without [[mirror]] sections
  const cluster::ClusterNode* cluster = nullptr;   // null without [cluster]
  const FsyncStats* fsync = nullptr;
  std::string data_dir;
  std::string version;
  std::string commit;
  int64_t start_ms = 0;  // wall clock
  int64_t now_ms = 0;
  uint64_t scrapes = 0;
  double last_scrape_seconds = 0;
};

// Readiness: the data directory is writable, meta.db is open, every Kafka listener listens, and
// the disk guard does not report the data directory below log.dir.min.free.bytes (a reason
// starting with "disk full").
struct Readiness {
  bool ready = true;
  std::vector<std::string> reasons;  // why not, one line each
};
Readiness check_ready(const AdminView& v);

class MetricsText;
// /metrics (Prometheus text 0.0.4).
std::string render_metrics(const AdminView& v);
// The mirrors' part of /metrics, from MirrorService::status().
void write_mirrors(MetricsText& m, const mirror::StatusSnapshot& s);
// The cluster's part of /metrics (links, leadership, the followers' lag on the leader), from
// ClusterNode::status().
void write_cluster(MetricsText& m, const cluster::NodeView& c);
// /v1/status (JSON).
std::string render_status(const AdminView& v);

// One consumer group partition's position: committed offset and lag (high watermark minus
// committed, never negative; -1 when the partition no longer exists).
struct GroupLag {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  int64_t committed = 0;
  int64_t high_watermark = -1;
  int64_t lag = -1;
};
std::vector<GroupLag> group_lags(broker::Broker& b);

}  // namespace ferry::admin
