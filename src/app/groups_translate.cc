// `ferry groups --translate`: committed offsets carried from a gateway group to a group on the
// mirror's central cluster. See groups_translate.h.
#include "app/groups_translate.h"

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/cli_common.h"
#include "app/cli_output.h"
#include "app/cli_session.h"
#include "client/group_admin.h"
#include "config/broker_config.h"
#include "config/mirror_config.h"
#include "mirror/offset_query.h"

namespace ferry::app {
namespace {

constexpr std::string_view kCommand = "groups";

using client::KafkaError;
using client::KafkaResult;
using client::TopicPartition;
using protocol::ErrorCode;

// The central cluster's security options, as the mirror section sets them.
SaslArgs mirror_security(const config::MirrorConfig& m) {
  SaslArgs a;
  a.security_protocol = m.security_protocol;
  if (m.security_protocol.rfind("SASL_", 0) == 0) {
    a.mechanism = m.sasl_mechanism;
    a.username = m.sasl_username;
    if (!m.sasl_password_file.empty()) {
      a.password_file = m.sasl_password_file;
    } else {
      a.password = m.sasl_password;
    }
  }
  if (m.security_protocol.find("SSL") != std::string::npos) {
    if (!m.ssl_ca_location.empty()) a.ssl_ca_location = m.ssl_ca_location;
    if (!m.ssl_certificate_location.empty())
      a.ssl_certificate_location = m.ssl_certificate_location;
    if (!m.ssl_key_location.empty()) a.ssl_key_location = m.ssl_key_location;
    a.ssl_endpoint_identification = m.ssl_endpoint_identification;
  }
  return a;
}

// One partition of the plan.
struct Planned {
  TopicPartition source;
  int64_t committed = -1;
  std::string target_topic;
  int64_t target_offset = -1;  // -1: left out
  std::string note;            // why moved back or left out
};

}  // namespace

int translate_group(const GroupsArgs& args) {
  const std::string& group = *args.group;
  const std::string target_group = args.target_group.value_or(group);
  Result<config::BrokerConfig> cfg = config::load_config_file(*args.config_file);
  if (!cfg) return usage(kCommand, cfg.error().message());
  const config::MirrorConfig* m = nullptr;
  for (const auto& section : cfg->mirrors) {
    if (section.name == *args.mirror) m = &section;
  }
  if (m == nullptr) {
    return usage(kCommand, *args.config_file + " has no [[mirror]] named '" + *args.mirror + "'");
  }
  auto gateway = parse_bootstrap(args.bootstrap);
  if (!gateway) return usage(kCommand, gateway.error().message());
  auto central = parse_bootstrap(args.to_bootstrap.value_or(m->bootstrap_servers.front()));
  if (!central) return usage(kCommand, "--to-bootstrap: " + central.error().message());
  auto gateway_security = security_config(args.sasl);
  if (!gateway_security) return usage(kCommand, gateway_security.error().message());
  auto central_security = security_config(mirror_security(*m));
  if (!central_security) {
    return usage(kCommand, "mirror " + m->name + ": " + central_security.error().message());
  }
  Result<mirror::OffsetMaps> maps =
      mirror::read_offset_maps(args.data_dir.value_or(cfg->data_dir), m->name);
  if (!maps) {
    std::fprintf(stderr, "ferry groups: %s\n", maps.error().message().c_str());
    return kKafkaError;
  }

  // The gateway group's committed offsets.
  std::map<TopicPartition, client::CommittedOffset> committed;
  {
    Session s(*gateway, args.timeout_ms, "ferry-groups", std::move(gateway_security).value());
    client::GroupAdmin admin(s.client());
    auto r = s.run<std::map<TopicPartition, client::CommittedOffset>>(
        [&](auto done) { admin.committed_offsets(group, std::nullopt, std::move(done)); });
    if (!r) return kafka_failure(kCommand, r.error());
    committed = std::move(*r);
  }

  std::vector<Planned> plan;
  bool left_out = false;
  for (const auto& [tp, c] : committed) {
    if (c.error) return kafka_failure(kCommand, *c.error);
    if (c.offset.value() < 0 || !config::mirror_matches(*m, tp.topic)) continue;
    Planned p;
    p.source = tp;
    p.committed = c.offset.value();
    p.target_topic = config::target_topic_name(*m, tp.topic, cfg->node_id);
    auto it = maps->find({tp.topic, tp.partition});
    if (it == maps->end()) {
      p.note = "left out: the mirror has no checkpoint for this partition";
    } else {
      const mirror::Translation t = it->second.translate(c.offset);
      switch (t.kind) {
        case mirror::TranslationKind::exact: p.target_offset = t.target; break;
        case mirror::TranslationKind::not_forwarded:
          p.target_offset = it->second.forwarded_target;
          p.note = "moved back: " + t.reason;
          break;
        case mirror::TranslationKind::before_map:
        case mirror::TranslationKind::no_map: p.note = "left out: " + t.reason; break;
      }
    }
    if (p.target_offset < 0) left_out = true;
    plan.push_back(std::move(p));
  }
  if (plan.empty()) {
    std::fprintf(stderr,
                 "ferry groups: group '%s' has no committed offsets on topics mirror '%s' "
                 "forwards\n",
                 group.c_str(), m->name.c_str());
    return kKafkaError;
  }

  std::map<TopicPartition, Offset> commit;
  for (const Planned& p : plan) {
    if (p.target_offset >= 0)
      commit[{p.target_topic, p.source.partition}] = Offset(p.target_offset);
  }
  Session s(*central, args.timeout_ms, "ferry-groups", std::move(central_security).value());
  client::GroupAdmin admin(s.client());
  // Kafka's tools refuse to move the offsets of a group with active members; so does this.
  auto described = s.run<std::vector<client::GroupDescription>>(
      [&](auto done) { admin.describe_groups({target_group}, std::move(done)); });
  if (!described) return kafka_failure(kCommand, described.error());
  const client::GroupDescription& g = described->front();
  if (g.error) return kafka_failure(kCommand, *g.error);
  if (!g.members.empty() || (g.state != "Empty" && g.state != "Dead")) {
    std::fprintf(stderr,
                 "ferry groups: the central group '%s' is not empty (state %s, %zu active "
                 "member%s): offsets can only be committed to a group with no active members; "
                 "stop its consumers first\n",
                 target_group.c_str(), g.state.c_str(), g.members.size(),
                 g.members.size() == 1 ? "" : "s");
    return kKafkaError;
  }
  if (args.execute && !commit.empty()) {
    auto r = s.run<std::map<TopicPartition, std::optional<KafkaError>>>(
        [&](auto done) { admin.alter_committed_offsets(target_group, commit, std::move(done)); });
    if (!r) return kafka_failure(kCommand, r.error());
    for (const auto& [tp, error] : *r) {
      if (error) {
        return kafka_failure(
            kCommand,
            KafkaError::broker(error->code(),
                               "committing offsets of central group '" + target_group +
                                   "' failed at " + tp.topic + "-" + std::to_string(tp.partition) +
                                   ": " + std::string(protocol::error_message(error->code()))));
      }
    }
  } else if (!args.json) {
    std::fprintf(stderr, "Dry run: nothing committed; add --execute to commit these offsets.\n");
  }

  if (args.json) {
    std::string out;
    for (const Planned& p : plan) {
      out += std::string(out.empty() ? "" : ",") + "{\"topic\":" + json_string(p.source.topic) +
             ",\"partition\":" + std::to_string(p.source.partition) +
             ",\"offset\":" + std::to_string(p.committed) +
             ",\"target_topic\":" + json_string(p.target_topic) +
             ",\"target_offset\":" + json_int_or_null(p.target_offset) +
             ",\"note\":" + (p.note.empty() ? "null" : json_string(p.note)) + "}";
    }
    std::printf(
        "{\"group\":%s,\"mirror\":%s,\"target_group\":%s,\"executed\":%s,\"partitions\":[%s]}\n",
        json_string(group).c_str(), json_string(m->name).c_str(), json_string(target_group).c_str(),
        args.execute ? "true" : "false", out.c_str());
  } else {
    Table t({"GROUP", "TOPIC", "PARTITION", "OFFSET", "TARGET-GROUP", "TARGET-TOPIC",
             "TARGET-OFFSET", "NOTE"});
    for (const Planned& p : plan) {
      t.add({group, p.source.topic, std::to_string(p.source.partition), std::to_string(p.committed),
             target_group, p.target_topic,
             p.target_offset < 0 ? "-" : std::to_string(p.target_offset),
             p.note.empty() ? "-" : p.note});
    }
    t.print();
  }
  for (const Planned& p : plan) {
    if (!p.note.empty()) {
      std::fprintf(stderr, "ferry groups: %s-%d: %s\n", p.source.topic.c_str(), p.source.partition,
                   p.note.c_str());
    }
  }
  return left_out ? kKafkaError : kOk;
}

}  // namespace ferry::app
