// Readiness and consumer-group lag, shared by /health/ready, /metrics and /v1/status. See
// admin_view.h.
#include "admin/admin_view.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "broker/disk_guard.h"

namespace ferry::admin {

Readiness check_ready(const AdminView& v) {
  Readiness r;
  auto fail = [&r](std::string why) {
    r.ready = false;
    r.reasons.push_back(std::move(why));
  };
  // Two system calls on the directory's inode (no data is written): a read-only mount or a
  // permission change shows; a full disk shows in the broker's own errors instead.
  if (::access(v.data_dir.c_str(), W_OK) != 0) {
    fail("data directory " + v.data_dir + " is not writable: " + std::strerror(errno));
  } else {
    struct statvfs fs {};
    if (::statvfs(v.data_dir.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY) != 0) {
      fail("data directory " + v.data_dir + " is on a read-only file system");
    }
  }
  if (v.meta == nullptr || v.meta->is_closed()) fail("meta.db is not open");
  if (v.broker == nullptr) {
    fail("the broker has not started");
  } else {
    if (v.broker->stopping()) fail("the broker is shutting down");
    const auto listeners = v.broker->listener_info();
    if (listeners.empty()) fail("no Kafka listener is open");
    for (const auto& l : listeners) {
      if (!l.listening) fail("listener " + l.name + " on " + l.bind + " is not listening");
    }
    // The disk guard's last check (at most a second old): below log.dir.min.free.bytes,
    // produce to refuse-policy topics is refused, so a load balancer should look elsewhere.
    if (const broker::DiskGuard& guard = v.broker->disk_guard(); guard.low()) {
      const uint64_t avail = guard.last_available_bytes().value_or(0);
      fail("disk full: " + std::to_string(avail) + " bytes free in " + v.data_dir +
           ", below log.dir.min.free.bytes (" +
           std::to_string(v.broker->config().log_dir_min_free_bytes) + ")");
    }
  }
  return r;
}

std::vector<GroupLag> group_lags(broker::Broker& b) {
  std::vector<GroupLag> out;
  for (const auto& [group, protocol_type] : b.groups().list()) {
    (void)protocol_type;
    for (const meta::OffsetCommit& c : b.groups().committed_all(group)) {
      GroupLag g;
      g.group = group;
      g.topic = c.topic;
      g.partition = c.partition.value();
      g.committed = c.offset.value();
      if (auto p = b.topics().partition(c.topic, c.partition.value())) {
        g.high_watermark = p->high_watermark().value();
        g.lag = g.high_watermark > g.committed ? g.high_watermark - g.committed : 0;
      }
      out.push_back(std::move(g));
    }
  }
  return out;
}

}  // namespace ferry::admin
