// /v1/status: the broker, its topics and partitions, consumer groups with their lag and the
// mirrors and the cluster, as one JSON object (the model the status page shows). The fields are
// listed in docs/monitoring.md.
#include <string>

#include "admin/admin_view.h"
#include "common/flash_accounting.h"
#include "common/json_text.h"
#include "common/log_recent.h"
#include "mirror/status.h"

namespace ferry::admin {
namespace {

std::string num(int64_t v) { return std::to_string(v); }
std::string num(uint64_t v) { return std::to_string(v); }

void write_broker(std::string& o, const AdminView& v) {
  const Readiness ready = check_ready(v);
  o += "\"broker\":{\"version\":" + json_quote(v.version) + ",\"commit\":" + json_quote(v.commit);
  o += ",\"node_id\":" + std::to_string(v.broker->config().node_id);
  o += ",\"cluster_id\":" + json_quote(v.broker->cluster_id());
  o += ",\"data_dir\":" + json_quote(v.data_dir);
  o += ",\"start_ms\":" + num(v.start_ms) + ",\"now_ms\":" + num(v.now_ms);
  o += ",\"uptime_seconds\":" + num((v.now_ms - v.start_ms) / 1000);
  o += ",\"ready\":";
  o += ready.ready ? "true" : "false";
  o += ",\"not_ready_reasons\":[";
  for (size_t i = 0; i < ready.reasons.size(); ++i) {
    if (i > 0) o += ',';
    o += json_quote(ready.reasons[i]);
  }
  o += "],\"listeners\":[";
  bool first = true;
  for (const auto& l : v.broker->listener_info()) {
    if (!first) o += ',';
    first = false;
    o += "{\"name\":" + json_quote(l.name) + ",\"bind\":" + json_quote(l.bind) +
         ",\"port\":" + std::to_string(l.port) +
         ",\"listening\":" + (l.listening ? "true" : "false") +
         ",\"connections\":" + num(static_cast<uint64_t>(l.connections)) + "}";
  }
  o += "],\"data_written_bytes\":{";  // common/flash_accounting.h
  const auto written = flash::written_by_kind();
  uint64_t total = 0;
  for (size_t i = 0; i < flash::kWriteKinds; ++i) {
    o += json_quote(flash::kind_name(static_cast<flash::WriteKind>(i))) + ":" + num(written[i]) +
         ",";
    total += written[i];
  }
  o += "\"total\":" + num(total) + "}}";
}

void write_topics(std::string& o, const AdminView& v) {
  o += "\"topics\":[";
  bool first_topic = true;
  const auto& traffic = v.broker->metrics().topics;
  for (const auto& [name, topic] : v.broker->topics().topics()) {
    if (topic.deleting) continue;
    if (!first_topic) o += ',';
    first_topic = false;
    broker::TopicTraffic t;
    if (auto it = traffic.find(name); it != traffic.end()) t = it->second;
    uint64_t size = 0;
    for (const auto& p : topic.partitions) size += p ? p->log().size_bytes() : 0;
    o += "{\"name\":" + json_quote(name) + ",\"size_bytes\":" + num(size) +
         ",\"produced_records\":" + num(t.records_in) + ",\"produced_bytes\":" + num(t.bytes_in) +
         ",\"fetched_records\":" + num(t.records_out) + ",\"fetched_bytes\":" + num(t.bytes_out) +
         ",\"partitions\":[";
    bool first = true;
    for (const auto& p : topic.partitions) {
      if (!p) continue;
      if (!first) o += ',';
      first = false;
      o += "{\"partition\":" + std::to_string(p->id().value()) +
           ",\"log_start_offset\":" + num(p->log_start_offset().value()) +
           ",\"log_end_offset\":" + num(p->log_end_offset().value()) +
           ",\"high_watermark\":" + num(p->high_watermark().value()) +
           ",\"size_bytes\":" + num(p->log().size_bytes()) +
           ",\"segments\":" + num(static_cast<uint64_t>(p->log().segment_count())) + "}";
    }
    o += "]}";
  }
  o += "]";
}

void write_groups(std::string& o, const AdminView& v) {
  o += "\"groups\":[";
  const std::vector<GroupLag> lags = group_lags(*v.broker);
  bool first_group = true;
  size_t i = 0;
  for (const auto& [group, protocol_type] : v.broker->groups().list()) {
    if (!first_group) o += ',';
    first_group = false;
    const broker::GroupDescription d = v.broker->groups().describe(group);
    int64_t total = 0;
    std::string parts;
    for (; i < lags.size() && lags[i].group == group; ++i) {
      const GroupLag& g = lags[i];
      if (!parts.empty()) parts += ',';
      parts += "{\"topic\":" + json_quote(g.topic) +
               ",\"partition\":" + std::to_string(g.partition) +
               ",\"committed_offset\":" + num(g.committed) +
               ",\"high_watermark\":" + num(g.high_watermark) + ",\"lag\":" + num(g.lag) + "}";
      if (g.lag > 0) total += g.lag;
    }
    o += "{\"group\":" + json_quote(group) + ",\"protocol_type\":" + json_quote(protocol_type) +
         ",\"state\":" + json_quote(d.state) +
         ",\"members\":" + num(static_cast<uint64_t>(d.members.size())) + ",\"lag\":" + num(total) +
         ",\"partitions\":[" + parts + "]}";
  }
  o += "]";
}

// The ring of recent WARN/ERROR lines (common/log_recent.h), oldest first.
void write_recent_errors(std::string& o) {
  o += "\"recent_errors\":[";
  bool first = true;
  for (const log::RecentLine& l : log::recent_lines()) {
    if (!first) o += ',';
    first = false;
    o += "{\"time_ms\":" + num(l.time_ms) + ",\"level\":";
    o += l.level == log::Level::error ? "\"error\"" : "\"warn\"";
    o += ",\"module\":" + json_quote(l.module) + ",\"message\":" + json_quote(l.message) + "}";
  }
  o += "]";
}

}  // namespace

std::string render_status(const AdminView& v) {
  std::string o = "{";
  if (v.broker != nullptr) {
    write_broker(o, v);
    o += ',';
    write_topics(o, v);
    o += ',';
    write_groups(o, v);
    o += ',';
  }
  // The mirrors: MirrorService::status() as `ferry mirror status --json` prints it.
  o += "\"mirrors\":";
  o += v.mirrors != nullptr ? mirror::render_status_json(v.mirrors->status()) : std::string("null");
  o += ',';
  // The cluster: this node's view (cluster/cluster_status.h); null without [cluster].
  o += "\"cluster\":";
  o += v.cluster != nullptr ? cluster::render_node_view_json(v.cluster->status())
                            : std::string("null");
  o += ',';
  write_recent_errors(o);
  o += "}\n";
  return o;
}

}  // namespace ferry::admin
