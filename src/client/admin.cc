// Admin: topic requests routed to the controller, and their answers turned into plain values.
#include "client/admin.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "protocol/scram_crypto.h"

namespace ferry::client {

using protocol::ApiKey;
using protocol::ErrorCode;

namespace {

constexpr int8_t kTopicResource = 2;  // DescribeConfigs resource_type

// A broker's per-topic error, or nullopt for none; an empty message takes the code's text.
std::optional<KafkaError> topic_error(int16_t code, const std::optional<std::string>& message) {
  if (code == 0) return std::nullopt;
  return KafkaError::broker(code, message.value_or(""));
}

// Sends `req` to the controller named by a fresh Metadata answer, or to the bootstrap broker
// when the answer names none (Metadata v0 has no controller_id; -1 means unknown).
template <ApiKey K>
void send_to_controller(Client* client, typename protocol::Messages<K>::Request req,
                        Client::Callback<K> done) {
  client->metadata(
      std::vector<std::string>{}, [client, req = std::move(req), done = std::move(done)](
                                      KafkaResult<protocol::MetadataResponse> md) mutable {
        if (!md) {
          done(std::move(md).error());
          return;
        }
        if (md->controller_id < 0) {
          client->send_any<K>(std::move(req), std::move(done));
        } else {
          client->send_to_node<K>(NodeId(md->controller_id), std::move(req), std::move(done));
        }
      });
}

}  // namespace

Admin::Admin(Client& client, AdminOptions options) : client_(client), options_(options) {}

void Admin::create_topics(std::vector<NewTopic> topics, bool validate_only,
                          Done<std::vector<TopicOutcome>> done) {
  protocol::CreateTopicsRequest req;
  req.timeout_ms = options_.operation_timeout_ms;
  req.validate_only = validate_only;
  for (auto& t : topics) {
    protocol::CreateTopicsRequest::Topic rt;
    rt.name = std::move(t.name);
    rt.num_partitions = t.partitions;
    rt.replication_factor = t.replication_factor;
    for (auto& [k, v] : t.configs) rt.configs.push_back({k, std::move(v)});
    req.topics.push_back(std::move(rt));
  }
  send_to_controller<ApiKey::create_topics>(
      &client_, std::move(req),
      [done = std::move(done)](KafkaResult<protocol::CreateTopicsResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        std::vector<TopicOutcome> out;
        for (auto& t : r->topics)
          out.push_back({std::move(t.name), topic_error(t.error_code, t.error_message)});
        done(std::move(out));
      });
}

void Admin::delete_topics(std::vector<std::string> names, Done<std::vector<TopicOutcome>> done) {
  protocol::DeleteTopicsRequest req;
  req.topic_names = std::move(names);
  req.timeout_ms = options_.operation_timeout_ms;
  send_to_controller<ApiKey::delete_topics>(
      &client_, std::move(req),
      [done = std::move(done)](KafkaResult<protocol::DeleteTopicsResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        std::vector<TopicOutcome> out;
        for (auto& t : r->responses)
          out.push_back({std::move(t.name), topic_error(t.error_code, std::nullopt)});
        done(std::move(out));
      });
}

void Admin::create_partitions(std::map<std::string, int32_t> totals, bool validate_only,
                              Done<std::vector<TopicOutcome>> done) {
  protocol::CreatePartitionsRequest req;
  req.timeout_ms = options_.operation_timeout_ms;
  req.validate_only = validate_only;
  for (const auto& [name, total] : totals) {
    protocol::CreatePartitionsRequest::Topic t;
    t.name = name;
    t.count = total;
    t.assignments.reset();
    req.topics.push_back(std::move(t));
  }
  send_to_controller<ApiKey::create_partitions>(
      &client_, std::move(req),
      [done = std::move(done)](KafkaResult<protocol::CreatePartitionsResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        std::vector<TopicOutcome> out;
        for (auto& t : r->results)
          out.push_back({std::move(t.name), topic_error(t.error_code, t.error_message)});
        done(std::move(out));
      });
}

void Admin::describe_topics(std::optional<std::vector<std::string>> names,
                            Done<std::vector<TopicDescription>> done) {
  client_.metadata(std::move(names), [done = std::move(done)](
                                         KafkaResult<protocol::MetadataResponse> md) {
    if (!md) {
      done(std::move(md).error());
      return;
    }
    std::vector<TopicDescription> out;
    for (auto& t : md->topics) {
      TopicDescription d;
      d.name = std::move(t.name);
      d.internal = t.is_internal;
      d.error = topic_error(t.error_code, std::nullopt);
      for (auto& p : t.partitions) {
        PartitionDescription pd;
        pd.partition = p.partition_index;
        pd.leader = p.leader_id;
        pd.replicas = std::move(p.replica_nodes);
        pd.isr = std::move(p.isr_nodes);
        pd.offline = std::move(p.offline_replicas);
        pd.error = topic_error(p.error_code, std::nullopt);
        d.partitions.push_back(std::move(pd));
      }
      std::sort(d.partitions.begin(), d.partitions.end(),
                [](const auto& a, const auto& b) { return a.partition < b.partition; });
      out.push_back(std::move(d));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    done(std::move(out));
  });
}

void Admin::list_topics(bool include_internal, Done<std::vector<std::string>> done) {
  describe_topics(std::nullopt, [include_internal, done = std::move(done)](
                                    KafkaResult<std::vector<TopicDescription>> r) {
    if (!r) {
      done(std::move(r).error());
      return;
    }
    std::vector<std::string> names;
    for (auto& t : *r) {
      if (t.error || (t.internal && !include_internal)) continue;
      names.push_back(std::move(t.name));
    }
    done(std::move(names));
  });
}

void Admin::describe_topic_configs(std::vector<std::string> names,
                                   Done<std::vector<TopicConfigs>> done) {
  protocol::DescribeConfigsRequest req;
  for (auto& n : names) {
    protocol::DescribeConfigsRequest::Resource res;
    res.resource_type = kTopicResource;
    res.resource_name = std::move(n);
    res.configuration_keys.reset();
    req.resources.push_back(std::move(res));
  }
  client_.send_any<ApiKey::describe_configs>(
      std::move(req), [done = std::move(done)](KafkaResult<protocol::DescribeConfigsResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        std::vector<TopicConfigs> out;
        for (auto& res : r->results) {
          TopicConfigs tc;
          tc.name = std::move(res.resource_name);
          tc.error = topic_error(res.error_code, res.error_message);
          for (auto& c : res.configs) {
            ConfigValue v;
            v.name = std::move(c.name);
            v.value = std::move(c.value);
            v.read_only = c.read_only;
            v.sensitive = c.is_sensitive;
            // v0 answers carry is_default and no source (left at -1 by the decoder).
            if (c.config_source < 0) {
              v.is_default = c.is_default;
              v.source = c.is_default ? ConfigSource::default_config : ConfigSource::unknown;
            } else {
              v.source = static_cast<ConfigSource>(c.config_source);
              v.is_default = v.source == ConfigSource::default_config;
            }
            tc.configs.push_back(std::move(v));
          }
          out.push_back(std::move(tc));
        }
        done(std::move(out));
      });
}

void Admin::create_acls(std::vector<AclEntry> acls,
                        Done<std::vector<std::optional<KafkaError>>> done) {
  protocol::CreateAclsRequest req;
  for (auto& a : acls) {
    req.creations.push_back({a.resource_type, std::move(a.resource_name), a.pattern_type,
                             std::move(a.principal), std::move(a.host), a.operation, a.permission});
  }
  client_.send_any<ApiKey::create_acls>(
      std::move(req), [done = std::move(done)](KafkaResult<protocol::CreateAclsResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        std::vector<std::optional<KafkaError>> out;
        for (const auto& res : r->results) {
          out.push_back(topic_error(res.error_code, res.error_message));
        }
        done(std::move(out));
      });
}

void Admin::describe_acls(protocol::AclFilter filter, Done<std::vector<AclEntry>> done) {
  protocol::DescribeAclsRequest req;
  req.filter = std::move(filter);
  client_.send_any<ApiKey::describe_acls>(
      std::move(req), [done = std::move(done)](KafkaResult<protocol::DescribeAclsResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        if (auto e = topic_error(r->error_code, r->error_message)) {
          done(std::move(*e));
          return;
        }
        std::vector<AclEntry> out;
        for (const auto& res : r->resources) {
          for (const auto& a : res.acls) {
            out.push_back({res.resource_type, res.resource_name, res.pattern_type, a.principal,
                           a.host, a.operation, a.permission_type});
          }
        }
        done(std::move(out));
      });
}

void Admin::delete_acls(std::vector<protocol::AclFilter> filters,
                        Done<std::vector<AclEntry>> done) {
  protocol::DeleteAclsRequest req;
  req.filters = std::move(filters);
  client_.send_any<ApiKey::delete_acls>(
      std::move(req), [done = std::move(done)](KafkaResult<protocol::DeleteAclsResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        std::vector<AclEntry> out;
        for (const auto& fr : r->filter_results) {
          if (auto e = topic_error(fr.error_code, fr.error_message)) {
            done(std::move(*e));
            return;
          }
          for (const auto& m : fr.matching_acls) {
            if (auto e = topic_error(m.error_code, m.error_message)) {
              done(std::move(*e));
              return;
            }
            out.push_back({m.resource_type, m.resource_name, m.pattern_type, m.principal, m.host,
                           m.operation, m.permission_type});
          }
        }
        done(std::move(out));
      });
}

namespace {

int8_t scram_code(SaslMechanism m) {
  return m == SaslMechanism::scram_sha_512 ? protocol::kScramSha512 : protocol::kScramSha256;
}

protocol::Bytes to_bytes(std::string_view s) {
  protocol::Bytes b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}

}  // namespace

void Admin::describe_user_scram_credentials(std::optional<std::vector<std::string>> users,
                                            Done<std::vector<ScramUserDescription>> done) {
  protocol::DescribeUserScramCredentialsRequest req;
  if (users) {
    req.users.emplace();
    for (auto& u : *users) req.users->push_back({std::move(u)});
  }
  client_.send_any<ApiKey::describe_user_scram_credentials>(
      std::move(req),
      [done = std::move(done)](KafkaResult<protocol::DescribeUserScramCredentialsResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        if (r->error_code != 0) {
          done(KafkaError::broker(r->error_code, r->error_message.value_or("")));
          return;
        }
        std::vector<ScramUserDescription> out;
        for (auto& res : r->results) {
          ScramUserDescription d;
          d.user = std::move(res.user);
          d.error = topic_error(res.error_code, res.error_message);
          for (const auto& c : res.credential_infos) {
            if (c.mechanism == protocol::kScramSha256) {
              d.mechanisms.emplace_back(SaslMechanism::scram_sha_256, c.iterations);
            } else if (c.mechanism == protocol::kScramSha512) {
              d.mechanisms.emplace_back(SaslMechanism::scram_sha_512, c.iterations);
            }
          }
          out.push_back(std::move(d));
        }
        done(std::move(out));
      });
}

void Admin::alter_user_scram_credentials(std::vector<ScramDeletion> deletions,
                                         std::vector<ScramUpsertion> upsertions,
                                         Done<std::vector<TopicOutcome>> done) {
  protocol::AlterUserScramCredentialsRequest req;
  for (auto& d : deletions) req.deletions.push_back({std::move(d.user), scram_code(d.mechanism)});
  for (auto& u : upsertions) {
    std::string salt = u.salt;
    if (salt.empty()) {
      auto s = protocol::scram::random_bytes(32);
      if (!s) {
        done(KafkaError::local(ErrorCode::unknown_server_error, s.error()));
        return;
      }
      salt = std::move(s).value();
    }
    auto salted = scram::salted_password(u.mechanism, u.password, salt,
                                         static_cast<uint32_t>(std::max(u.iterations, 1)));
    if (!salted) {
      done(KafkaError::local(ErrorCode::unknown_server_error, salted.error()));
      return;
    }
    protocol::AlterUserScramCredentialsRequest::Upsertion up;
    up.name = std::move(u.user);
    up.mechanism = scram_code(u.mechanism);
    up.iterations = u.iterations;
    up.salt = to_bytes(salt);
    up.salted_password = to_bytes(*salted);
    protocol::scram::wipe(salted.value());
    protocol::scram::wipe(u.password);
    req.upsertions.push_back(std::move(up));
  }
  send_to_controller<ApiKey::alter_user_scram_credentials>(
      &client_, std::move(req),
      [done = std::move(done)](KafkaResult<protocol::AlterUserScramCredentialsResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        std::vector<TopicOutcome> out;
        for (auto& res : r->results)
          out.push_back({std::move(res.user), topic_error(res.error_code, res.error_message)});
        done(std::move(out));
      });
}

}  // namespace ferry::client
