// MirrorService: the mirrors of one node (one Mirror per [[mirror]] section), the retention
// floors they hold on the source partitions, and the status file `ferry mirror status` reads.
//
// Retention floor: each forwarded partition's keep-until-mirrored floor
// (broker::Partition::set_retention_floor) is the lowest source offset any enabled mirror has not
// had acknowledged yet; set at start, when partitions are found and every second.
// Status: DATA/mirror-status.tsv (status.h), rewritten every second (temporary file + rename,
// no fsync: a view, not state).
//
// Threading: the broker's loop thread. Ownership: app::Node owns it; the TopicManager, MetaStore
// and Clock outlive it; stop() before destroying it.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/topic_manager.h"
#include "common/clock.h"
#include "common/uv_timer.h"
#include "config/broker_config.h"
#include "meta/store.h"
#include "mirror/mirror.h"
#include "mirror/status.h"

namespace ferry::mirror {

// The status file inside the data directory.
std::string status_file_path(const std::string& data_dir);

class MirrorService {
 public:
  MirrorService(uv_loop_t* loop, const config::BrokerConfig& config, broker::TopicManager& topics,
                meta::MetaStore& meta, const Clock& clock);
  ~MirrorService();
  MirrorService(const MirrorService&) = delete;
  MirrorService& operator=(const MirrorService&) = delete;

  // Starts every mirror and applies their floors before returning (so retention, which runs
  // on a later tick, never sees a forwarded partition without one).
  Status start();
  // Stops every mirror, writes the status file a last time; `done` runs on the loop.
  void stop(std::function<void()> done);

  StatusSnapshot status() const;
  void apply_floors();

 private:
  void tick();
  void write_status();

  uv_loop_t* loop_;
  const config::BrokerConfig& config_;
  broker::TopicManager& topics_;
  const Clock& clock_;
  std::string status_path_;
  std::vector<std::unique_ptr<Mirror>> mirrors_;
  std::unique_ptr<UvTimer> timer_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace ferry::mirror
