// /metrics: every number the admin listener exports, gathered on the loop at scrape time from
// the broker's counters, the logs, the groups, the Flusher, the mirrors and /proc/self. The
// metric names and their meaning are listed in docs/monitoring.md.
#include <string>

#include "admin/admin_view.h"
#include "admin/metrics_text.h"
#include "admin/process_stats.h"
#include "common/flash_accounting.h"
#include "protocol/api.h"
#include "protocol/error_code.h"
#include "storage/cleaner.h"

namespace ferry::admin {
namespace {

void write_process(MetricsText& m, const AdminView& v) {
  m.family("ferry_build_info", "gauge", "Version and git commit of this ferry build (value 1).");
  m.sample("ferry_build_info", {{"version", v.version}, {"commit", v.commit}}, 1);
  m.family("ferry_start_time_seconds", "gauge", "When this process started (Unix time).");
  m.sample("ferry_start_time_seconds", {}, static_cast<double>(v.start_ms) / 1000.0);
  m.family("ferry_uptime_seconds", "gauge", "Seconds since this process started.");
  m.sample("ferry_uptime_seconds", {}, static_cast<double>(v.now_ms - v.start_ms) / 1000.0);
  const ProcessStats p = read_process_stats();
  if (!p.available) return;
  m.family("ferry_process_resident_memory_bytes", "gauge", "Resident set size of the process.");
  m.sample("ferry_process_resident_memory_bytes", {}, p.resident_bytes);
  m.family("ferry_process_cpu_seconds_total", "counter",
           "CPU time used by the process, user and system.");
  m.sample("ferry_process_cpu_seconds_total", {{"mode", "user"}}, p.cpu_user_seconds);
  m.sample("ferry_process_cpu_seconds_total", {{"mode", "system"}}, p.cpu_system_seconds);
  m.family("ferry_process_threads", "gauge", "Threads of the process (the loop and libuv's pool).");
  m.sample("ferry_process_threads", {}, p.threads);
  m.family("ferry_process_storage_written_bytes_total", "counter",
           "Bytes the process caused to be written to storage (/proc/self/io write_bytes): the "
           "flash-wear figure.");
  m.sample("ferry_process_storage_written_bytes_total", {}, p.io_write_bytes);
  m.family("ferry_process_storage_read_bytes_total", "counter",
           "Bytes the process caused to be read from storage (/proc/self/io read_bytes).");
  m.sample("ferry_process_storage_read_bytes_total", {}, p.io_read_bytes);
  m.family("ferry_process_write_call_bytes_total", "counter",
           "Bytes passed to write system calls, sockets included (/proc/self/io wchar).");
  m.sample("ferry_process_write_call_bytes_total", {}, p.io_wchar);
}

// Bytes written to the data directory by kind (common/flash_accounting.h).
void write_data_written(MetricsText& m) {
  m.family("ferry_data_written_bytes_total", "counter",
           "Bytes ferry wrote to files in its data directory, by kind (log_append, index, "
           "recovery, meta_db, meta_wal, checkpoint, compaction).");
  const auto bytes = flash::written_by_kind();
  for (size_t i = 0; i < flash::kWriteKinds; ++i) {
    const auto kind = static_cast<flash::WriteKind>(i);
    m.sample("ferry_data_written_bytes_total", {{"kind", std::string(flash::kind_name(kind))}},
             bytes[i]);
  }
}

// The log cleaner of compacted topics (storage/cleaner.h), when the broker runs one.
void write_cleaner(MetricsText& m, const AdminView& v) {
  const storage::Cleaner* c = v.broker->cleaner();
  if (c == nullptr) return;
  const storage::CleanerStats& s = c->stats();
  const auto counter = [&](const char* name, const char* help, uint64_t value) {
    m.family(name, "counter", help);
    m.sample(name, {}, value);
  };
  counter("ferry_cleaner_passes_total", "Cleaner passes completed and swapped in.", s.passes);
  counter("ferry_cleaner_passes_failed_total",
          "Cleaner passes that failed (I/O errors, corrupt batches, abandoned swaps).",
          s.passes_failed);
  counter("ferry_cleaner_read_bytes_total", "Bytes of log the cleaner read.", s.bytes_read);
  counter("ferry_cleaner_written_bytes_total", "Bytes of cleaned segment copies written.",
          s.bytes_written);
  counter("ferry_cleaner_records_removed_total",
          "Records the cleaner removed (superseded keys, expired tombstones).", s.records_removed);
  m.family("ferry_cleaner_running", "gauge", "1 while a cleaner pass is in flight.");
  m.sample("ferry_cleaner_running", {}, c->busy() ? 1 : 0);
}

void write_partitions(MetricsText& m, const AdminView& v) {
  struct Row {
    std::string topic;
    std::string partition;
    const broker::Partition* p;
  };
  std::vector<Row> rows;
  for (const auto& [name, topic] : v.broker->topics().topics()) {
    if (topic.deleting) continue;
    for (const auto& p : topic.partitions) {
      if (p) rows.push_back({name, std::to_string(p->id().value()), p.get()});
    }
  }
  const auto each = [&](const char* name, const char* type, const char* help, auto value) {
    m.family(name, type, help);
    for (const Row& r : rows)
      m.sample(name, {{"topic", r.topic}, {"partition", r.partition}}, value(*r.p));
  };
  each("ferry_partition_log_start_offset", "gauge", "First offset still in the partition's log.",
       [](const broker::Partition& p) { return p.log_start_offset().value(); });
  each("ferry_partition_log_end_offset", "gauge", "Offset the next appended record gets.",
       [](const broker::Partition& p) { return p.log_end_offset().value(); });
  each("ferry_partition_high_watermark", "gauge", "Offset up to which consumers may read.",
       [](const broker::Partition& p) { return p.high_watermark().value(); });
  each("ferry_partition_size_bytes", "gauge", "Bytes of the partition's segment files.",
       [](const broker::Partition& p) { return p.log().size_bytes(); });
  each("ferry_partition_segments", "gauge", "Segment files of the partition's log.",
       [](const broker::Partition& p) { return static_cast<uint64_t>(p.log().segment_count()); });

  uint64_t total = 0;
  for (const Row& r : rows) total += r.p->log().size_bytes();
  m.family("ferry_log_size_bytes", "gauge",
           "Bytes of every partition log under the data directory.");
  m.sample("ferry_log_size_bytes", {}, total);
  m.family("ferry_topics", "gauge", "Topics.");
  m.sample("ferry_topics", {}, static_cast<uint64_t>(v.broker->topics().topics().size()));
  m.family("ferry_partitions", "gauge", "Partitions of every topic.");
  m.sample("ferry_partitions", {}, static_cast<uint64_t>(rows.size()));
}

void write_traffic(MetricsText& m, const AdminView& v) {
  const auto& topics = v.broker->metrics().topics;
  const auto live = [&v](const std::string& t) { return v.broker->topics().find(t) != nullptr; };
  const auto each = [&](const char* name, const char* help, auto value) {
    m.family(name, "counter", help);
    for (const auto& [t, c] : topics) {
      if (live(t)) m.sample(name, {{"topic", t}}, value(c));
    }
  };
  each("ferry_topic_produced_records_total", "Records appended by Produce requests.",
       [](const broker::TopicTraffic& c) { return c.records_in; });
  each("ferry_topic_produced_bytes_total", "Record-batch bytes appended by Produce requests.",
       [](const broker::TopicTraffic& c) { return c.bytes_in; });
  each("ferry_topic_fetched_records_total",
       "Records sent in Fetch responses (consumers and the mirrors' readers alike).",
       [](const broker::TopicTraffic& c) { return c.records_out; });
  each("ferry_topic_fetched_bytes_total", "Record-batch bytes sent in Fetch responses.",
       [](const broker::TopicTraffic& c) { return c.bytes_out; });
}

void write_apis(MetricsText& m, const AdminView& v) {
  const auto& apis = v.broker->metrics().apis;
  const auto api = [](int16_t key) {
    std::string_view n = protocol::api_name(key);
    return n.empty() ? std::to_string(key) : std::string(n);
  };
  m.family("ferry_api_requests_total", "counter", "Kafka requests handled, per API.");
  for (const auto& [key, s] : apis)
    m.sample("ferry_api_requests_total", {{"api", api(key)}}, s.requests);
  m.family("ferry_api_errors_total", "counter",
           "Kafka error codes answered, per API and code (per response, or per partition for "
           "Produce and Fetch).");
  for (const auto& [key, s] : apis) {
    for (const auto& [code, n] : s.errors) {
      m.sample("ferry_api_errors_total",
               {{"api", api(key)},
                {"code", protocol::error_name(static_cast<protocol::ErrorCode>(code))}},
               n);
    }
  }
  m.family("ferry_api_request_duration_seconds", "histogram",
           "Time from a request's dispatch to its response being handed to the connection.");
  for (const auto& [key, s] : apis) {
    m.histogram("ferry_api_request_duration_seconds", {{"api", api(key)}}, s.latency);
  }
  m.family("ferry_requests_refused_total", "counter",
           "Requests refused before any handler (unreadable header, unknown API or version); "
           "each closes its connection.");
  m.sample("ferry_requests_refused_total", {}, v.broker->metrics().requests_refused);

  m.family("ferry_listener_connections", "gauge", "Client connections open, per Kafka listener.");
  const auto listeners = v.broker->listener_info();
  for (const auto& l : listeners) {
    m.sample("ferry_listener_connections", {{"listener", l.name}},
             static_cast<uint64_t>(l.connections));
  }
  m.family("ferry_listener_up", "gauge", "1 while the Kafka listener accepts connections.");
  for (const auto& l : listeners)
    m.sample("ferry_listener_up", {{"listener", l.name}}, l.listening ? 1 : 0);
}

void write_storage(MetricsText& m, const AdminView& v) {
  if (v.fsync != nullptr) {
    m.family("ferry_fsync_jobs_total", "counter",
             "Group-commit flush jobs (each fdatasyncs every log that asked since the last).");
    m.sample("ferry_fsync_jobs_total", {}, v.fsync->jobs);
    m.family("ferry_fsyncs_total", "counter", "fdatasync calls on segment files.");
    m.sample("ferry_fsyncs_total", {}, v.fsync->datasyncs);
    m.family("ferry_fsync_duration_seconds", "histogram",
             "Duration of each group-commit flush job on the thread pool.");
    m.histogram("ferry_fsync_duration_seconds", {}, v.fsync->duration);
  }
  m.family("ferry_meta_transactions_total", "counter", "meta.db transactions committed.");
  m.sample("ferry_meta_transactions_total", {}, v.meta->transactions());
  m.family("ferry_producer_ids_issued_total", "counter",
           "Producer ids issued or reserved for idempotent producers, since the data directory "
           "was created.");
  m.sample("ferry_producer_ids_issued_total", {},
           static_cast<uint64_t>(v.broker->producers().next_producer_id()));
}

void write_groups(MetricsText& m, const AdminView& v) {
  const std::vector<GroupLag> lags = group_lags(*v.broker);
  m.family("ferry_group_committed_offset", "gauge", "Offset a consumer group committed.");
  for (const GroupLag& g : lags) {
    const std::string p = std::to_string(g.partition);
    m.sample("ferry_group_committed_offset",
             {{"group", g.group}, {"topic", g.topic}, {"partition", p}}, g.committed);
  }
  m.family("ferry_group_lag", "gauge",
           "Records between a group's committed offset and the partition's high watermark.");
  for (const GroupLag& g : lags) {
    if (g.lag < 0) continue;
    const std::string p = std::to_string(g.partition);
    m.sample("ferry_group_lag", {{"group", g.group}, {"topic", g.topic}, {"partition", p}}, g.lag);
  }
}

}  // namespace

// The mirrors' numbers, from MirrorService::status(): one place to add the fields the mirror
// grows.
void write_mirrors(MetricsText& m, const mirror::StatusSnapshot& s) {
  static constexpr std::string_view kStates[] = {"connecting", "connected", "backing_off",
                                                 "disabled"};
  // The link fields repeat on each partition row; one link per mirror.
  std::vector<const mirror::StatusRow*> links;
  for (const auto& r : s.rows) {
    bool seen = false;
    for (const auto* l : links) seen = seen || l->mirror == r.mirror;
    if (!seen) links.push_back(&r);
  }
  m.family("ferry_mirror_link_state", "gauge",
           "1 for the state the mirror's link to its target cluster is in, 0 for the others.");
  for (const auto* l : links) {
    for (std::string_view st : kStates) {
      m.sample("ferry_mirror_link_state", {{"mirror", l->mirror}, {"state", st}},
               l->link_state == st ? 1 : 0);
    }
  }
  m.family("ferry_mirror_link_reconnects_total", "counter", "Reconnections of the mirror's link.");
  for (const auto* l : links) {
    m.sample("ferry_mirror_link_reconnects_total", {{"mirror", l->mirror}}, l->reconnects);
  }
  const auto each = [&](const char* name, const char* help, auto value) {
    m.family(name, "gauge", help);
    for (const auto& r : s.rows) {
      if (r.partition < 0) continue;
      const std::string p = std::to_string(r.partition);
      m.sample(name, {{"mirror", r.mirror}, {"topic", r.topic}, {"partition", p}}, value(r));
    }
  };
  each("ferry_mirror_records_behind", "Records of the source partition not yet forwarded.",
       [](const mirror::StatusRow& r) { return r.records_behind; });
  each("ferry_mirror_seconds_behind", "Age of the oldest record not yet forwarded.",
       [](const mirror::StatusRow& r) { return r.seconds_behind; });
  each("ferry_mirror_forwarded_offset",
       "Source offset after the last batch the target acknowledged (-1: none yet).",
       [](const mirror::StatusRow& r) { return r.forwarded; });
}

// The cluster's numbers, from ClusterNode::status(): the links to every other node, the
// controller, and per partition led here its ISR state and each follower's lag (only the
// leader sees its followers' fetches; partition x replica series exist on the leader only).
void write_cluster(MetricsText& m, const cluster::NodeView& c) {
  m.family("ferry_cluster_node_id", "gauge", "This node's node.id.");
  m.sample("ferry_cluster_node_id", {}, c.node_id);
  m.family("ferry_cluster_controller_id", "gauge",
           "The node this node takes for the controller (the metadata log's leader); -1: none "
           "known.");
  m.sample("ferry_cluster_controller_id", {}, c.controller);
  m.family("ferry_cluster_is_controller", "gauge", "1 when this node is the controller.");
  m.sample("ferry_cluster_is_controller", {}, c.controller == c.node_id ? 1 : 0);
  m.family("ferry_cluster_leader_elections_total", "counter",
           "Epochs this node started as the leader of one of its partitions or of the metadata "
           "log (elections won, transfers included).");
  m.sample("ferry_cluster_leader_elections_total", {}, c.leader_elections);
  std::vector<std::pair<std::string, const cluster::LinkView*>> links;
  for (const auto& l : c.nodes) {
    if (!l.self) links.emplace_back(std::to_string(l.node), &l);
  }
  auto each_link = [&](const char* name, const char* type, const char* help, auto value) {
    m.family(name, type, help);
    for (const auto& [peer, l] : links) m.sample(name, {{"peer", peer}}, value(*l));
  };
  each_link("ferry_cluster_link_up", "gauge",
            "1 while the link to the peer node is open (hellos exchanged), 0 otherwise.",
            [](const cluster::LinkView& l) { return l.up ? 1 : 0; });
  each_link("ferry_cluster_link_sent_bytes_total", "counter",
            "Bytes sent to the peer node over every link it had.",
            [](const cluster::LinkView& l) { return l.bytes_sent; });
  each_link("ferry_cluster_link_received_bytes_total", "counter",
            "Bytes received from the peer node over every link it had.",
            [](const cluster::LinkView& l) { return l.bytes_received; });
  each_link("ferry_cluster_link_connects_total", "counter",
            "Links to the peer node established (hellos exchanged).",
            [](const cluster::LinkView& l) { return l.connects; });
  each_link("ferry_cluster_link_reconnects_total", "counter",
            "Links to the peer node established after the first one.",
            [](const cluster::LinkView& l) { return l.reconnects; });
  each_link("ferry_cluster_link_dial_failures_total", "counter",
            "Dials of the peer node that failed, timed out or were refused.",
            [](const cluster::LinkView& l) { return l.dial_failures; });
  each_link("ferry_cluster_link_stalls_total", "counter",
            "Links to the peer node closed by the stall detector.",
            [](const cluster::LinkView& l) { return l.stalls; });

  std::vector<const cluster::PartitionView*> led;
  for (const auto& p : c.partitions) {
    if (p.role == "leader") led.push_back(&p);
  }
  int64_t under = 0;
  for (const auto* p : led) under += p->under_replicated() ? 1 : 0;
  m.family("ferry_cluster_partitions_led", "gauge",
           "Partitions (the metadata log included) this node leads.");
  m.sample("ferry_cluster_partitions_led", {}, static_cast<int64_t>(led.size()));
  m.family("ferry_cluster_under_replicated_partitions", "gauge",
           "Partitions led by this node whose ISR is smaller than their replica set.");
  m.sample("ferry_cluster_under_replicated_partitions", {}, under);
  m.family("ferry_partition_under_replicated", "gauge",
           "1 when the partition's ISR is smaller than its replica set (on its leader only).");
  for (const auto* p : led) {
    const std::string part = std::to_string(p->partition);
    m.sample("ferry_partition_under_replicated", {{"topic", p->topic}, {"partition", part}},
             p->under_replicated() ? 1 : 0);
  }
  m.family("ferry_partition_in_sync_replicas", "gauge",
           "Replicas in the partition's ISR, the leader included (on its leader only).");
  for (const auto* p : led) {
    const std::string part = std::to_string(p->partition);
    m.sample("ferry_partition_in_sync_replicas", {{"topic", p->topic}, {"partition", part}},
             static_cast<int64_t>(p->isr.size()));
  }
  auto each_replica = [&](const char* name, const char* help, auto value) {
    m.family(name, "gauge", help);
    for (const auto* p : led) {
      const std::string part = std::to_string(p->partition);
      for (const auto& l : p->lag) {
        const double v = value(l);
        if (v < 0) continue;  // unknown
        const std::string replica = std::to_string(l.replica);
        m.sample(name, {{"topic", p->topic}, {"partition", part}, {"replica", replica}}, v);
      }
    }
  };
  each_replica("ferry_replica_lag_records",
               "Records the follower is behind the leader's log end, as of its last fetch (on "
               "the leader; absent before its first fetch in the epoch).",
               [](const cluster::ReplicaLag& l) { return static_cast<double>(l.records_behind); });
  each_replica("ferry_replica_lag_seconds",
               "Seconds since the follower last reached the leader's log end (never in this "
               "epoch: since the epoch began); on the leader.",
               [](const cluster::ReplicaLag& l) {
                 return l.caught_up_ms_ago < 0 ? -1.0
                                               : static_cast<double>(l.caught_up_ms_ago) / 1000.0;
               });
  each_replica("ferry_replica_last_fetch_age_seconds",
               "Seconds since the follower's last fetch, on the leader (absent before its first "
               "fetch in the epoch).",
               [](const cluster::ReplicaLag& l) {
                 return l.last_fetch_ms_ago < 0 ? -1.0
                                                : static_cast<double>(l.last_fetch_ms_ago) / 1000.0;
               });
  each_replica("ferry_replica_in_sync", "1 while the follower is in the ISR (on the leader).",
               [](const cluster::ReplicaLag& l) { return l.in_sync ? 1.0 : 0.0; });
}

std::string render_metrics(const AdminView& v) {
  MetricsText m;
  write_process(m, v);
  write_data_written(m);
  write_cleaner(m, v);
  if (v.broker != nullptr) {
    write_partitions(m, v);
    write_traffic(m, v);
    write_apis(m, v);
    write_groups(m, v);
    if (v.meta != nullptr) write_storage(m, v);
  }
  if (v.mirrors != nullptr) write_mirrors(m, v.mirrors->status());
  if (v.cluster != nullptr) write_cluster(m, v.cluster->status());
  const Readiness ready = check_ready(v);
  m.family("ferry_ready", "gauge", "1 when /health/ready answers 200.");
  m.sample("ferry_ready", {}, ready.ready ? 1 : 0);
  m.family("ferry_admin_scrapes_total", "counter",
           "Requests of /metrics answered before this one.");
  m.sample("ferry_admin_scrapes_total", {}, v.scrapes);
  m.family("ferry_admin_scrape_duration_seconds", "gauge",
           "Time the previous /metrics request took to gather and render.");
  m.sample("ferry_admin_scrape_duration_seconds", {}, v.last_scrape_seconds);
  return m.take();
}

}  // namespace ferry::admin
