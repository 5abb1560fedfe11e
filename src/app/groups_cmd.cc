// `ferry groups`: list, describe, delete consumer groups and reset their committed offsets.
//
// Each action is a short sequence of the client library's administration calls (client/admin.h,
// client/group_admin.h) run one after the other on a private loop (app/cli_session.h); the output
// is an aligned table, or JSON with --json.
#include "app/groups_cmd.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "app/cli_common.h"
#include "app/cli_output.h"
#include "app/cli_session.h"
#include "app/groups_translate.h"
#include "client/admin.h"
#include "client/consumer_protocol.h"
#include "client/datetime.h"
#include "client/group_admin.h"

namespace ferry::app {
namespace {

constexpr std::string_view kCommand = "groups";

using client::GroupAdmin;
using client::KafkaError;
using client::KafkaResult;
using client::TopicPartition;
using protocol::ErrorCode;

// ---- output helpers -------------------------------------------------------------------------

std::string text_offset(int64_t v) { return v < 0 ? "-" : std::to_string(v); }
std::string text_or_dash(const std::string& s) { return s.empty() ? "-" : s; }

// ---- talking to the cluster -----------------------------------------------------------------

// The partitions of `topics`; a topic-level error fails the whole call.
KafkaResult<std::vector<TopicPartition>> partitions_of(Session& s,
                                                       const std::vector<std::string>& topics) {
  std::vector<TopicPartition> out;
  if (topics.empty()) return out;
  client::Admin admin(s.client());
  auto described = s.run<std::vector<client::TopicDescription>>(
      [&](auto done) { admin.describe_topics(topics, std::move(done)); });
  if (!described) return std::move(described).error();
  for (const auto& t : *described) {
    if (t.error) {
      return KafkaError::broker(
          t.error->code(),
          "topic '" + t.name + "': " + std::string(protocol::error_message(t.error->code())));
    }
    for (const auto& p : t.partitions) out.push_back({t.name, p.partition});
  }
  return out;
}

// The offset of each partition at `spec`, asked of each partition's leader. A partition-level
// error leaves the partition out of the result.
KafkaResult<std::map<TopicPartition, int64_t>> offsets_at(Session& s, GroupAdmin& admin,
                                                          const std::vector<TopicPartition>& parts,
                                                          client::OffsetSpec spec) {
  std::map<TopicPartition, client::OffsetSpec> asked;
  for (const auto& tp : parts) asked[tp] = spec;
  auto r = s.run<std::map<TopicPartition, client::ListedOffset>>(
      [&](auto done) { admin.list_offsets(std::move(asked), std::move(done)); });
  if (!r) return std::move(r).error();
  std::map<TopicPartition, int64_t> out;
  for (const auto& [tp, o] : *r) {
    if (!o.error) out[tp] = o.offset.value();
  }
  return out;
}

// Committed offsets of `group` (all of them when `only` is null); a partition-level error fails
// the whole call.
KafkaResult<std::map<TopicPartition, int64_t>> committed(
    Session& s, GroupAdmin& admin, const std::string& group,
    std::optional<std::vector<TopicPartition>> only) {
  auto r = s.run<std::map<TopicPartition, client::CommittedOffset>>(
      [&](auto done) { admin.committed_offsets(group, std::move(only), std::move(done)); });
  if (!r) return std::move(r).error();
  std::map<TopicPartition, int64_t> out;
  for (const auto& [tp, c] : *r) {
    if (c.error) return *c.error;
    if (c.offset.value() >= 0) out[tp] = c.offset.value();
  }
  return out;
}

KafkaResult<client::GroupDescription> describe_group(Session& s, GroupAdmin& admin,
                                                     const std::string& group) {
  auto r = s.run<std::vector<client::GroupDescription>>(
      [&](auto done) { admin.describe_groups({group}, std::move(done)); });
  if (!r) return std::move(r).error();
  auto g = std::move(r->front());
  if (g.error) return *g.error;
  return g;
}

KafkaError no_such_group(const std::string& group) {
  return KafkaError::broker(ErrorCode::group_id_not_found,
                            "Consumer group '" + group + "' does not exist.");
}

// ---- the actions ----------------------------------------------------------------------------

int list_groups(Session& s, GroupAdmin& admin, const GroupsArgs& args) {
  auto groups = s.run<std::vector<client::GroupListing>>(
      [&](auto done) { admin.list_groups(std::move(done)); });
  if (!groups) return kafka_failure(kCommand, groups.error());
  if (args.json) {
    std::string out = "[";
    for (const auto& [id, type] : *groups) {
      if (out.size() > 1) out += ",";
      out += "{\"group\":" + json_string(id) + ",\"protocol_type\":" + json_string(type) + "}";
    }
    std::printf("%s]\n", out.c_str());
  } else {
    for (const auto& [id, type] : *groups) std::printf("%s\n", id.c_str());
  }
  return kOk;
}

struct Owner {
  std::string member_id;
  std::string host;
  std::string client_id;
};

int describe(Session& s, GroupAdmin& admin, const GroupsArgs& args) {
  const std::string& group = *args.group;
  auto g = describe_group(s, admin, group);
  if (!g) return kafka_failure(kCommand, g.error());
  auto offsets = committed(s, admin, group, std::nullopt);
  if (!offsets) return kafka_failure(kCommand, offsets.error());
  if (g->state == "Dead" && offsets->empty()) return kafka_failure(kCommand, no_such_group(group));

  std::map<TopicPartition, Owner> owners;
  std::string members_json;
  for (const auto& m : g->members) {
    std::string assigned_json;
    if (g->protocol_type == "consumer") {
      auto a = client::decode_consumer_assignment(m.assignment);
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
  for (const auto& tp : shown) topic_set.insert(tp.topic);
  std::map<TopicPartition, int64_t> log_end;
  if (!topic_set.empty()) {
    auto parts = partitions_of(s, {topic_set.begin(), topic_set.end()});
    if (!parts) return kafka_failure(kCommand, parts.error());
    auto ends = offsets_at(s, admin, {shown.begin(), shown.end()}, client::OffsetSpec::latest());
    if (!ends) return kafka_failure(kCommand, ends.error());
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
      parts += std::string(parts.empty() ? "" : ",") + "{\"topic\":" + json_string(r.tp.topic) +
               ",\"partition\":" + std::to_string(r.tp.partition) +
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
        json_string(group).c_str(), json_string(g->state).c_str(),
        json_string(g->protocol_type).c_str(), json_string(g->protocol).c_str(),
        members_json.c_str(), parts.c_str());
    return kOk;
  }
  std::printf("Consumer group '%s': state %s, %zu member%s\n\n", group.c_str(), g->state.c_str(),
              g->members.size(), g->members.size() == 1 ? "" : "s");
  Table t({"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID",
           "HOST", "CLIENT-ID"});
  for (const auto& r : rows) {
    t.add({group, r.tp.topic, std::to_string(r.tp.partition), text_offset(r.current),
           text_offset(r.end), text_offset(r.lag), r.owner ? text_or_dash(r.owner->member_id) : "-",
           r.owner ? text_or_dash(r.owner->host) : "-",
           r.owner ? text_or_dash(r.owner->client_id) : "-"});
  }
  t.print();
  return kOk;
}

int remove(Session& s, GroupAdmin& admin, const GroupsArgs& args) {
  const std::string& group = *args.group;
  auto r = s.run<std::vector<client::GroupOutcome>>(
      [&](auto done) { admin.delete_groups({group}, std::move(done)); });
  if (!r) return kafka_failure(kCommand, r.error());
  for (const auto& res : *r) {
    if (!res.error) continue;
    if (res.error->code() == ErrorCode::group_id_not_found)
      return kafka_failure(kCommand, no_such_group(group));
    return kafka_failure(
        kCommand, KafkaError::broker(res.error->code(),
                                     "Deleting consumer group '" + group + "' failed: " +
                                         std::string(protocol::error_message(res.error->code()))));
  }
  std::printf("Deletion of requested consumer groups ('%s') was successful.\n", group.c_str());
  return kOk;
}

int reset_offsets(Session& s, GroupAdmin& admin, const GroupsArgs& args) {
  const std::string& group = *args.group;
  int64_t datetime_ms = 0;
  if (args.to_datetime) {
    auto t = client::parse_iso8601_ms(*args.to_datetime);
    if (!t) return usage(kCommand, "--to-datetime: " + t.error().message());
    datetime_ms = *t;
  }
  auto parts = partitions_of(s, args.topics);
  if (!parts) return kafka_failure(kCommand, parts.error());
  auto current = committed(s, admin, group, *parts);
  if (!current) return kafka_failure(kCommand, current.error());
  auto start = offsets_at(s, admin, *parts, client::OffsetSpec::earliest());
  if (!start) return kafka_failure(kCommand, start.error());
  auto end = offsets_at(s, admin, *parts, client::OffsetSpec::latest());
  if (!end) return kafka_failure(kCommand, end.error());
  std::map<TopicPartition, int64_t> by_time;
  if (args.to_datetime) {
    auto r = offsets_at(s, admin, *parts, client::OffsetSpec::at_time(datetime_ms));
    if (!r) return kafka_failure(kCommand, r.error());
    by_time = std::move(*r);
  }

  std::map<TopicPartition, Offset> plan;
  for (const auto& tp : *parts) {
    auto lo = start->find(tp);
    auto hi = end->find(tp);
    if (lo == start->end() || hi == end->end()) {
      return kafka_failure(kCommand, KafkaError::local(ErrorCode::leader_not_available,
                                                       "no offsets for " + tp.topic + "-" +
                                                           std::to_string(tp.partition)));
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
        return kafka_failure(kCommand,
                             KafkaError::local(ErrorCode::invalid_request,
                                               "cannot shift the offset of " + tp.topic + "-" +
                                                   std::to_string(tp.partition) +
                                                   ": the group has no committed offset there"));
      }
      target = it->second + *args.shift_by;
    }
    plan[tp] = Offset(std::clamp(target, lo->second, hi->second));
  }

  if (args.execute) {
    auto r = s.run<std::map<TopicPartition, std::optional<KafkaError>>>(
        [&](auto done) { admin.alter_committed_offsets(group, plan, std::move(done)); });
    if (!r) return kafka_failure(kCommand, r.error());
    for (const auto& [tp, error] : *r) {
      if (error) {
        return kafka_failure(
            kCommand, KafkaError::broker(
                          error->code(),
                          "committing offsets of group '" + group +
                              "' failed: " + std::string(protocol::error_message(error->code())) +
                              " Offsets can only be reset while the group has no active "
                              "members."));
      }
    }
  } else if (!args.json) {
    std::fprintf(stderr, "Dry run: nothing committed; add --execute to commit these offsets.\n");
  }

  if (args.json) {
    std::string out;
    for (const auto& [tp, off] : plan) {
      auto cur = current->find(tp);
      out += std::string(out.empty() ? "" : ",") + "{\"topic\":" + json_string(tp.topic) +
             ",\"partition\":" + std::to_string(tp.partition) +
             ",\"current_offset\":" + json_int_or_null(cur == current->end() ? -1 : cur->second) +
             ",\"new_offset\":" + std::to_string(off.value()) + "}";
    }
    std::printf("{\"group\":%s,\"executed\":%s,\"partitions\":[%s]}\n", json_string(group).c_str(),
                args.execute ? "true" : "false", out.c_str());
    return kOk;
  }
  Table t({"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"});
  for (const auto& [tp, off] : plan)
    t.add({group, tp.topic, std::to_string(tp.partition), std::to_string(off.value())});
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
  g->add_flag("--translate", a.translate,
              "Commit the group's offsets, translated by a mirror's offset map, on its central "
              "cluster");
  g->add_option("--mirror", a.mirror, "The [[mirror]] whose offset map translates (--translate)");
  g->add_option("--config", a.config_file,
                "The gateway's ferry.toml: data.dir and the [[mirror]] section (--translate)")
      ->check(CLI::ExistingFile);
  g->add_option("--data-dir", a.data_dir,
                "The gateway's data directory (default: the config's data.dir; --translate)");
  g->add_option("--to-bootstrap", a.to_bootstrap,
                "HOST:PORT of the central cluster (default: the mirror's bootstrap.servers)");
  g->add_option("--target-group", a.target_group,
                "The central group to commit to (default: the same name; --translate)");
  g->add_flag("--execute", a.execute, "Commit the planned offsets (default: dry run)");
  g->add_flag("--json", a.json, "Machine-readable output");
  g->add_option("--timeout", a.timeout_ms, "Connect and request timeout in ms (default 10000)")
      ->check(CLI::Range(1u, 3'600'000u));
  return g;
}

int run_groups(const GroupsArgs& args) {
  const int actions = int{args.list} + int{args.describe} + int{args.remove} + int{args.reset} +
                      int{args.translate};
  if (actions != 1) {
    return usage(kCommand,
                 "give exactly one of --list, --describe, --delete, --reset-offsets, --translate");
  }
  if (!args.list && !args.group) return usage(kCommand, "--group is required");
  const bool translate_options =
      args.mirror || args.config_file || args.data_dir || args.to_bootstrap || args.target_group;
  if (args.translate) {
    if (!args.mirror || !args.config_file)
      return usage(kCommand, "--translate needs --mirror and --config");
    if (!args.topics.empty() || args.to_earliest || args.to_latest || args.to_offset ||
        args.to_datetime || args.shift_by) {
      return usage(kCommand, "--topic, --to-* and --shift-by go with --reset-offsets");
    }
    return translate_group(args);
  }
  if (translate_options) {
    return usage(kCommand,
                 "--mirror, --config, --data-dir, --to-bootstrap and --target-group go with "
                 "--translate");
  }
  const int specs = int{args.to_earliest} + int{args.to_latest} + int{args.to_offset.has_value()} +
                    int{args.to_datetime.has_value()} + int{args.shift_by.has_value()};
  if (args.reset) {
    if (args.topics.empty()) return usage(kCommand, "--reset-offsets needs --topic");
    if (specs != 1) {
      return usage(kCommand,
                   "--reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset, "
                   "--to-datetime, --shift-by");
    }
    if (args.to_datetime) {
      if (auto t = client::parse_iso8601_ms(*args.to_datetime); !t)
        return usage(kCommand, "--to-datetime: " + t.error().message());
    }
  } else if (specs != 0 || args.execute || !args.topics.empty()) {
    return usage(kCommand, "--topic, --to-*, --shift-by and --execute go with --reset-offsets");
  }
  auto bootstrap = parse_bootstrap(args.bootstrap);
  if (!bootstrap) return usage(kCommand, bootstrap.error().message());
  auto sasl = security_config(args.sasl);
  if (!sasl) return usage(kCommand, sasl.error().message());

  Session s(*bootstrap, args.timeout_ms, "ferry-groups", std::move(sasl).value());
  GroupAdmin admin(s.client());
  if (args.list) return list_groups(s, admin, args);
  if (args.describe) return describe(s, admin, args);
  if (args.remove) return remove(s, admin, args);
  return reset_offsets(s, admin, args);
}

}  // namespace ferry::app
