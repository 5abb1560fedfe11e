// `ferry groups`: list, describe, delete consumer groups and reset their committed offsets.
//
// Each action is a short sequence of requests run one after the other on a private loop with
// the client library (app/cli_session.h); the output is an aligned table, or JSON with --json.
#include "app/groups_cmd.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "app/cli_output.h"
#include "app/cli_session.h"
#include "client/client.h"
#include "client/consumer_protocol.h"
#include "client/datetime.h"

namespace ferry::app {
namespace {

using client::KafkaError;
using client::KafkaResult;
using protocol::ApiKey;
using protocol::ErrorCode;
using TopicPartition = std::pair<std::string, int32_t>;

constexpr int kOk = 0;
constexpr int kKafkaError = 1;
constexpr int kUsage = 2;

int usage(const std::string& message) {
  std::fprintf(stderr, "ferry groups: %s\n", message.c_str());
  return kUsage;
}

int kafka_failure(const KafkaError& e) {
  std::fprintf(stderr, "ferry groups: %s\n", e.to_string().c_str());
  return kKafkaError;
}

// ---- output helpers -------------------------------------------------------------------------

std::string text_offset(int64_t v) { return v < 0 ? "-" : std::to_string(v); }
std::string text_or_dash(const std::string& s) { return s.empty() ? "-" : s; }

// ---- talking to the cluster -----------------------------------------------------------------

struct PartitionInfo {
  int32_t leader = -1;
};

// The partitions of `topics` with their leaders; a topic-level error fails the whole call.
KafkaResult<std::map<TopicPartition, PartitionInfo>> partitions_of(
    Session& s, const std::vector<std::string>& topics) {
  std::map<TopicPartition, PartitionInfo> out;
  if (topics.empty()) return out;
  auto md = s.metadata(topics);
  if (!md) return std::move(md).error();
  for (const auto& t : md->topics) {
    if (t.error_code != 0) {
      return KafkaError::broker(
          t.error_code,
          "topic '" + t.name +
              "': " + std::string(protocol::error_message(static_cast<ErrorCode>(t.error_code))));
    }
    for (const auto& p : t.partitions) out[{t.name, p.partition_index}] = {p.leader_id};
  }
  return out;
}

// ListOffsets for each partition at its timestamp (-1 latest, -2 earliest), asked of each
// partition's leader. A partition-level error leaves the partition out of the result.
KafkaResult<std::map<TopicPartition, int64_t>> list_offsets(
    Session& s, const std::map<TopicPartition, PartitionInfo>& parts,
    const std::map<TopicPartition, int64_t>& timestamps) {
  std::map<int32_t, protocol::ListOffsetsRequest> by_leader;
  for (const auto& [tp, ts] : timestamps) {
    auto it = parts.find(tp);
    if (it == parts.end()) continue;
    auto& req = by_leader[it->second.leader];
    auto t = std::find_if(req.topics.begin(), req.topics.end(),
                          [&](const auto& x) { return x.name == tp.first; });
    if (t == req.topics.end()) {
      req.topics.emplace_back();
      t = req.topics.end() - 1;
      t->name = tp.first;
    }
    protocol::ListOffsetsRequest::Topic::Partition p;
    p.partition_index = tp.second;
    p.timestamp = ts;
    t->partitions.push_back(p);
  }
  std::map<TopicPartition, int64_t> out;
  for (auto& [leader, req] : by_leader) {
    auto r = s.node<ApiKey::list_offsets>(NodeId(leader), std::move(req));
    if (!r) return std::move(r).error();
    for (const auto& t : r->topics) {
      for (const auto& p : t.partitions) {
        if (p.error_code != 0) continue;
        int64_t off = p.offset;
        if (off < 0 && !p.old_style_offsets.empty()) off = p.old_style_offsets.front();
        out[{t.name, p.partition_index}] = off;
      }
    }
  }
  return out;
}

std::map<TopicPartition, int64_t> with_timestamp(const std::map<TopicPartition, PartitionInfo>& p,
                                                 int64_t ts) {
  std::map<TopicPartition, int64_t> out;
  for (const auto& [tp, info] : p) out[tp] = ts;
  return out;
}

// Committed offsets of `group` (all of them when `topics` is null).
KafkaResult<std::map<TopicPartition, int64_t>> committed(
    Session& s, const std::string& group, const std::map<TopicPartition, PartitionInfo>* only) {
  protocol::OffsetFetchRequest req;
  req.group_id = group;
  if (only == nullptr) {
    req.topics.reset();
  } else {
    for (const auto& [tp, info] : *only) {
      auto t = std::find_if(req.topics->begin(), req.topics->end(),
                            [&](const auto& x) { return x.name == tp.first; });
      if (t == req.topics->end()) {
        req.topics->emplace_back();
        t = req.topics->end() - 1;
        t->name = tp.first;
      }
      t->partition_indexes.push_back(tp.second);
    }
  }
  auto r = s.coordinator<ApiKey::offset_fetch>(group, std::move(req));
  if (!r) return std::move(r).error();
  if (r->error_code != 0) return KafkaError::broker(r->error_code);
  std::map<TopicPartition, int64_t> out;
  for (const auto& t : r->topics) {
    for (const auto& p : t.partitions) {
      if (p.error_code != 0) return KafkaError::broker(p.error_code);
      if (p.committed_offset >= 0) out[{t.name, p.partition_index}] = p.committed_offset;
    }
  }
  return out;
}

KafkaResult<protocol::DescribeGroupsResponse::Group> describe_group(Session& s,
                                                                    const std::string& group) {
  protocol::DescribeGroupsRequest req;
  req.groups = {group};
  auto r = s.coordinator<ApiKey::describe_groups>(group, std::move(req));
  if (!r) return std::move(r).error();
  if (r->groups.empty())
    return KafkaError::local(ErrorCode::unknown_server_error, "empty DescribeGroups answer");
  auto g = std::move(r->groups.front());
  if (g.error_code != 0) return KafkaError::broker(g.error_code);
  return g;
}

KafkaError no_such_group(const std::string& group) {
  return KafkaError::broker(ErrorCode::group_id_not_found,
                            "Consumer group '" + group + "' does not exist.");
}

// ---- the actions ----------------------------------------------------------------------------

int list_groups(Session& s, const GroupsArgs& args) {
  auto md = s.metadata(std::vector<std::string>{});
  if (!md) return kafka_failure(md.error());
  std::map<std::string, std::string> groups;  // id -> protocol type
  for (const auto& b : md->brokers) {
    auto r = s.node<ApiKey::list_groups>(NodeId(b.node_id), {});
    if (!r) return kafka_failure(r.error());
    if (r->error_code != 0) return kafka_failure(KafkaError::broker(r->error_code));
    for (const auto& g : r->groups) groups[g.group_id] = g.protocol_type;
  }
  if (args.json) {
    std::string out = "[";
    for (const auto& [id, type] : groups) {
      if (out.size() > 1) out += ",";
      out += "{\"group\":" + json_string(id) + ",\"protocol_type\":" + json_string(type) + "}";
    }
    std::printf("%s]\n", out.c_str());
  } else {
    for (const auto& [id, type] : groups) std::printf("%s\n", id.c_str());
  }
  return kOk;
}

struct Owner {
  std::string member_id;
  std::string host;
  std::string client_id;
};

int describe(Session& s, const GroupsArgs& args) {
  const std::string& group = *args.group;
  auto g = describe_group(s, group);
  if (!g) return kafka_failure(g.error());
  auto offsets = committed(s, group, nullptr);
  if (!offsets) return kafka_failure(offsets.error());
  if (g->group_state == "Dead" && offsets->empty()) return kafka_failure(no_such_group(group));

  std::map<TopicPartition, Owner> owners;
  std::string members_json;
  for (const auto& m : g->members) {
    std::string assigned_json;
    if (g->protocol_type == "consumer") {
      auto a = client::decode_consumer_assignment(m.member_assignment);
      if (!a) {
        std::fprintf(stderr, "ferry groups: member %s: %s\n", m.member_id.c_str(),
                     a.error().to_string().c_str());
      } else {
        for (const auto& t : a->assigned) {
          std::string ps;
          for (int32_t p : t.partitions) {
            owners[{t.topic, p}] = {m.member_id, m.client_host, m.client_id};
            ps += (ps.empty() ? "" : ",") + std::to_string(p);
          }
          assigned_json += std::string(assigned_json.empty() ? "" : ",") +
                           "{\"topic\":" + json_string(t.topic) + ",\"partitions\":[" + ps + "]}";
        }
      }
    }
    members_json += std::string(members_json.empty() ? "" : ",") +
                    "{\"member_id\":" + json_string(m.member_id) + ",\"group_instance_id\":" +
                    (m.group_instance_id ? json_string(*m.group_instance_id) : "null") +
                    ",\"client_id\":" + json_string(m.client_id) +
                    ",\"host\":" + json_string(m.client_host) + ",\"assignment\":[" +
                    assigned_json + "]}";
  }

  std::set<TopicPartition> shown;
  std::set<std::string> topic_set;
  for (const auto& [tp, o] : *offsets) shown.insert(tp);
  for (const auto& [tp, o] : owners) shown.insert(tp);
  for (const auto& tp : shown) topic_set.insert(tp.first);
  std::map<TopicPartition, int64_t> log_end;
  if (!topic_set.empty()) {
    auto parts = partitions_of(s, {topic_set.begin(), topic_set.end()});
    if (!parts) return kafka_failure(parts.error());
    std::map<TopicPartition, int64_t> ts;
    for (const auto& tp : shown) ts[tp] = -1;
    auto ends = list_offsets(s, *parts, ts);
    if (!ends) return kafka_failure(ends.error());
    log_end = std::move(*ends);
  }

  struct Row {
    TopicPartition tp;
    int64_t current = -1;
    int64_t end = -1;
    int64_t lag = -1;
    const Owner* owner = nullptr;
  };
  std::vector<Row> rows;
  for (const auto& tp : shown) {
    Row r;
    r.tp = tp;
    if (auto it = offsets->find(tp); it != offsets->end()) r.current = it->second;
    if (auto it = log_end.find(tp); it != log_end.end()) r.end = it->second;
    if (r.current >= 0 && r.end >= 0) r.lag = std::max<int64_t>(0, r.end - r.current);
    if (auto it = owners.find(tp); it != owners.end()) r.owner = &it->second;
    rows.push_back(r);
  }

  if (args.json) {
    std::string parts;
    for (const auto& r : rows) {
      parts += std::string(parts.empty() ? "" : ",") + "{\"topic\":" + json_string(r.tp.first) +
               ",\"partition\":" + std::to_string(r.tp.second) +
               ",\"current_offset\":" + json_int_or_null(r.current) +
               ",\"log_end_offset\":" + json_int_or_null(r.end) +
               ",\"lag\":" + json_int_or_null(r.lag) +
               ",\"consumer_id\":" + (r.owner ? json_string(r.owner->member_id) : "null") +
               ",\"host\":" + (r.owner ? json_string(r.owner->host) : "null") +
               ",\"client_id\":" + (r.owner ? json_string(r.owner->client_id) : "null") + "}";
    }
    std::printf(
        "{\"group\":%s,\"state\":%s,\"protocol_type\":%s,\"protocol\":%s,\"members\":[%s],"
        "\"partitions\":[%s]}\n",
        json_string(group).c_str(), json_string(g->group_state).c_str(),
        json_string(g->protocol_type).c_str(), json_string(g->protocol_data).c_str(),
        members_json.c_str(), parts.c_str());
    return kOk;
  }
  std::printf("Consumer group '%s': state %s, %zu member%s\n\n", group.c_str(),
              g->group_state.c_str(), g->members.size(), g->members.size() == 1 ? "" : "s");
  Table t({"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID",
           "HOST", "CLIENT-ID"});
  for (const auto& r : rows) {
    t.add({group, r.tp.first, std::to_string(r.tp.second), text_offset(r.current),
           text_offset(r.end), text_offset(r.lag), r.owner ? text_or_dash(r.owner->member_id) : "-",
           r.owner ? text_or_dash(r.owner->host) : "-",
           r.owner ? text_or_dash(r.owner->client_id) : "-"});
  }
  t.print();
  return kOk;
}

int remove(Session& s, const GroupsArgs& args) {
  const std::string& group = *args.group;
  protocol::DeleteGroupsRequest req;
  req.groups_names = {group};
  auto r = s.coordinator<ApiKey::delete_groups>(group, std::move(req));
  if (!r) return kafka_failure(r.error());
  for (const auto& res : r->results) {
    if (res.error_code == protocol::wire(ErrorCode::group_id_not_found))
      return kafka_failure(no_such_group(group));
    if (res.error_code != 0) {
      return kafka_failure(KafkaError::broker(
          res.error_code,
          "Deleting consumer group '" + group + "' failed: " +
              std::string(protocol::error_message(static_cast<ErrorCode>(res.error_code)))));
    }
  }
  std::printf("Deletion of requested consumer groups ('%s') was successful.\n", group.c_str());
  return kOk;
}

int reset_offsets(Session& s, const GroupsArgs& args) {
  const std::string& group = *args.group;
  int64_t datetime_ms = 0;
  if (args.to_datetime) {
    auto t = client::parse_iso8601_ms(*args.to_datetime);
    if (!t) return usage("--to-datetime: " + t.error().message());
    datetime_ms = *t;
  }
  auto parts = partitions_of(s, args.topics);
  if (!parts) return kafka_failure(parts.error());
  auto current = committed(s, group, &*parts);
  if (!current) return kafka_failure(current.error());
  auto start = list_offsets(s, *parts, with_timestamp(*parts, -2));
  if (!start) return kafka_failure(start.error());
  auto end = list_offsets(s, *parts, with_timestamp(*parts, -1));
  if (!end) return kafka_failure(end.error());
  std::map<TopicPartition, int64_t> by_time;
  if (args.to_datetime) {
    auto r = list_offsets(s, *parts, with_timestamp(*parts, datetime_ms));
    if (!r) return kafka_failure(r.error());
    by_time = std::move(*r);
  }

  std::map<TopicPartition, int64_t> plan;
  for (const auto& [tp, info] : *parts) {
    auto lo = start->find(tp);
    auto hi = end->find(tp);
    if (lo == start->end() || hi == end->end()) {
      return kafka_failure(
          KafkaError::local(ErrorCode::leader_not_available,
                            "no offsets for " + tp.first + "-" + std::to_string(tp.second)));
    }
    int64_t target = 0;
    if (args.to_earliest) {
      target = lo->second;
    } else if (args.to_latest) {
      target = hi->second;
    } else if (args.to_offset) {
      target = *args.to_offset;
    } else if (args.to_datetime) {
      auto it = by_time.find(tp);
      // No record at or after the time: the end of the log, as Kafka's tool does.
      target = it == by_time.end() || it->second < 0 ? hi->second : it->second;
    } else {
      auto it = current->find(tp);
      if (it == current->end()) {
        return kafka_failure(KafkaError::local(ErrorCode::invalid_request,
                                               "cannot shift the offset of " + tp.first + "-" +
                                                   std::to_string(tp.second) +
                                                   ": the group has no committed offset there"));
      }
      target = it->second + *args.shift_by;
    }
    plan[tp] = std::clamp(target, lo->second, hi->second);
  }

  if (args.execute) {
    protocol::OffsetCommitRequest req;
    req.group_id = group;
    req.generation_id_or_member_epoch = -1;
    req.member_id = "";
    for (const auto& [tp, off] : plan) {
      if (req.topics.empty() || req.topics.back().name != tp.first) {
        req.topics.emplace_back();
        req.topics.back().name = tp.first;
      }
      protocol::OffsetCommitRequest::Topic::Partition p;
      p.partition_index = tp.second;
      p.committed_offset = off;
      p.committed_metadata = "";
      req.topics.back().partitions.push_back(p);
    }
    auto r = s.coordinator<ApiKey::offset_commit>(group, std::move(req));
    if (!r) return kafka_failure(r.error());
    for (const auto& t : r->topics) {
      for (const auto& p : t.partitions) {
        if (p.error_code != 0) {
          return kafka_failure(KafkaError::broker(
              p.error_code,
              "committing offsets of group '" + group + "' failed: " +
                  std::string(protocol::error_message(static_cast<ErrorCode>(p.error_code))) +
                  " Offsets can only be reset while the group has no active "
                  "members."));
        }
      }
    }
  } else if (!args.json) {
    std::fprintf(stderr, "Dry run: nothing committed; add --execute to commit these offsets.\n");
  }

  if (args.json) {
    std::string out;
    for (const auto& [tp, off] : plan) {
      auto cur = current->find(tp);
      out += std::string(out.empty() ? "" : ",") + "{\"topic\":" + json_string(tp.first) +
             ",\"partition\":" + std::to_string(tp.second) +
             ",\"current_offset\":" + json_int_or_null(cur == current->end() ? -1 : cur->second) +
             ",\"new_offset\":" + std::to_string(off) + "}";
    }
    std::printf("{\"group\":%s,\"executed\":%s,\"partitions\":[%s]}\n", json_string(group).c_str(),
                args.execute ? "true" : "false", out.c_str());
    return kOk;
  }
  Table t({"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"});
  for (const auto& [tp, off] : plan)
    t.add({group, tp.first, std::to_string(tp.second), std::to_string(off)});
  t.print();
  return kOk;
}

}  // namespace

CLI::App* add_groups_command(CLI::App& app, GroupsArgs& a) {
  auto* g = app.add_subcommand(
      "groups", "List, describe and delete consumer groups, and reset their offsets");
  g->add_option("--bootstrap", a.bootstrap, "HOST:PORT of a broker (default 127.0.0.1:9092)");
  add_sasl_options(g, a.sasl);
  g->add_flag("--list", a.list, "List the consumer groups");
  g->add_flag("--describe", a.describe, "Show a group's members, offsets and lag");
  g->add_flag("--delete", a.remove, "Delete a group with no active members");
  g->add_flag("--reset-offsets", a.reset, "Plan (and with --execute commit) new offsets");
  g->add_option("--group", a.group, "The consumer group");
  g->add_option("--topic", a.topics, "Topic whose offsets to reset (repeatable)");
  g->add_flag("--to-earliest", a.to_earliest, "Reset to the log start offset");
  g->add_flag("--to-latest", a.to_latest, "Reset to the log end offset");
  g->add_option("--to-offset", a.to_offset, "Reset to this offset");
  g->add_option("--to-datetime", a.to_datetime,
                "Reset to the first offset at or after this time (YYYY-MM-DDTHH:mm:SS.sss[Z])");
  g->add_option("--shift-by", a.shift_by, "Move the committed offsets by N (may be negative)");
  g->add_flag("--execute", a.execute, "Commit the planned offsets (default: dry run)");
  g->add_flag("--json", a.json, "Machine-readable output");
  g->add_option("--timeout", a.timeout_ms, "Connect and request timeout in ms (default 10000)")
      ->check(CLI::Range(1u, 3'600'000u));
  return g;
}

int run_groups(const GroupsArgs& args) {
  const int actions = int{args.list} + int{args.describe} + int{args.remove} + int{args.reset};
  if (actions != 1)
    return usage("give exactly one of --list, --describe, --delete, --reset-offsets");
  if (!args.list && !args.group) return usage("--group is required");
  const int specs = int{args.to_earliest} + int{args.to_latest} + int{args.to_offset.has_value()} +
                    int{args.to_datetime.has_value()} + int{args.shift_by.has_value()};
  if (args.reset) {
    if (args.topics.empty()) return usage("--reset-offsets needs --topic");
    if (specs != 1) {
      return usage(
          "--reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset, "
          "--to-datetime, --shift-by");
    }
    if (args.to_datetime) {
      if (auto t = client::parse_iso8601_ms(*args.to_datetime); !t)
        return usage("--to-datetime: " + t.error().message());
    }
  } else if (specs != 0 || args.execute || !args.topics.empty()) {
    return usage("--topic, --to-*, --shift-by and --execute go with --reset-offsets");
  }
  auto bootstrap = parse_bootstrap(args.bootstrap);
  if (!bootstrap) return usage(bootstrap.error().message());
  auto sasl = sasl_config(args.sasl);
  if (!sasl) return usage(sasl.error().message());

  Session s(*bootstrap, args.timeout_ms, "ferry-groups", std::move(sasl).value());
  if (args.list) return list_groups(s, args);
  if (args.describe) return describe(s, args);
  if (args.remove) return remove(s, args);
  return reset_offsets(s, args);
}

}  // namespace ferry::app
