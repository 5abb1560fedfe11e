// What Kafka checks for each API, applied at the one check point before the handlers. See
// api_rules.h; the table of which API uses which check is api_table.cc.
#include "broker/authz/api_rules.h"

#include <memory>
#include <typeinfo>
#include <utility>
#include <vector>

#include "broker/authz/authorizer.h"
#include "broker/broker.h"
#include "protocol/error_code.h"

namespace ferry::broker::authz {
namespace {

using protocol::ErrorCode;

constexpr int16_t code(ErrorCode e) { return static_cast<int16_t>(e); }
constexpr int16_t kTopicDenied = code(ErrorCode::topic_authorization_failed);
constexpr int16_t kGroupDenied = code(ErrorCode::group_authorization_failed);
constexpr int16_t kClusterDenied = code(ErrorCode::cluster_authorization_failed);
constexpr int16_t kTransactionalIdDenied = code(ErrorCode::transactional_id_authorization_failed);
// DescribeConfigs/AlterConfigs resource types (config_resource.h).
constexpr int8_t kConfigTopic = 2;

// ---- what the response gets back -------------------------------------------------------------

template <class Topics>
auto& push_topic(Topics& topics, const std::string& name) {
  auto& t = topics.emplace_back();
  t.name = name;
  return t;
}

void add_item(protocol::ProduceResponse& resp, const Denied::Item& it) {
  auto& t = push_topic(resp.responses, it.name);
  for (int32_t p : it.partitions) {
    auto& rp = t.partition_responses.emplace_back();
    rp.index = p;
    rp.error_code = it.error_code;
    rp.base_offset = -1;
  }
}
void add_item(protocol::FetchResponse& resp, const Denied::Item& it) {
  auto& t = resp.responses.emplace_back();
  t.topic = it.name;
  for (int32_t p : it.partitions) {
    auto& rp = t.partitions.emplace_back();
    rp.partition_index = p;
    rp.error_code = it.error_code;
    rp.high_watermark = -1;
  }
}
template <class Resp>
void add_partitioned(Resp& resp, const Denied::Item& it) {
  auto& t = push_topic(resp.topics, it.name);
  for (int32_t p : it.partitions) {
    auto& rp = t.partitions.emplace_back();
    rp.partition_index = p;
    rp.error_code = it.error_code;
  }
}
void add_item(protocol::ListOffsetsResponse& resp, const Denied::Item& it) {
  add_partitioned(resp, it);
}
void add_item(protocol::OffsetForLeaderEpochResponse& resp, const Denied::Item& it) {
  auto& t = resp.topics.emplace_back();
  t.topic = it.name;
  for (int32_t p : it.partitions) {
    auto& rp = t.partitions.emplace_back();
    rp.partition = p;
    rp.error_code = it.error_code;
  }
}
void add_item(protocol::OffsetCommitResponse& resp, const Denied::Item& it) {
  add_partitioned(resp, it);
}
void add_item(protocol::OffsetFetchResponse& resp, const Denied::Item& it) {
  add_partitioned(resp, it);
}
void add_item(protocol::OffsetDeleteResponse& resp, const Denied::Item& it) {
  add_partitioned(resp, it);
}
void add_item(protocol::MetadataResponse& resp, const Denied::Item& it) {
  push_topic(resp.topics, it.name).error_code = it.error_code;
}
void add_item(protocol::DescribeGroupsResponse& resp, const Denied::Item& it) {
  auto& g = resp.groups.emplace_back();
  g.group_id = it.name;
  g.error_code = it.error_code;
}
void add_item(protocol::DeleteGroupsResponse& resp, const Denied::Item& it) {
  auto& g = resp.results.emplace_back();
  g.group_id = it.name;
  g.error_code = it.error_code;
}
void add_item(protocol::CreateTopicsResponse& resp, const Denied::Item& it) {
  push_topic(resp.topics, it.name).error_code = it.error_code;
}
void add_item(protocol::DeleteTopicsResponse& resp, const Denied::Item& it) {
  push_topic(resp.responses, it.name).error_code = it.error_code;
}
void add_item(protocol::CreatePartitionsResponse& resp, const Denied::Item& it) {
  push_topic(resp.results, it.name).error_code = it.error_code;
}
void add_item(protocol::DescribeConfigsResponse& resp, const Denied::Item& it) {
  auto& r = resp.results.emplace_back();
  r.error_code = it.error_code;
  r.resource_type = it.resource_type;
  r.resource_name = it.name;
}
template <class Resp>
void add_alter_configs(Resp& resp, const Denied::Item& it) {
  auto& r = resp.responses.emplace_back();
  r.error_code = it.error_code;
  r.resource_type = it.resource_type;
  r.resource_name = it.name;
}
void add_item(protocol::AlterConfigsResponse& resp, const Denied::Item& it) {
  add_alter_configs(resp, it);
}
void add_item(protocol::IncrementalAlterConfigsResponse& resp, const Denied::Item& it) {
  add_alter_configs(resp, it);
}
void add_item(protocol::ListGroupsResponse&, const Denied::Item&) {}

template <class List, class NameOf>
void keep_visible(List& list, const Denied& d, NameOf name_of) {
  std::erase_if(list, [&](const auto& e) { return !d.visible(name_of(e)); });
}
void hide(protocol::MetadataResponse& resp, const Denied& d) {
  keep_visible(resp.topics, d, [](const auto& t) -> std::string_view { return t.name; });
}
void hide(protocol::OffsetFetchResponse& resp, const Denied& d) {
  keep_visible(resp.topics, d, [](const auto& t) -> std::string_view { return t.name; });
}
void hide(protocol::ListGroupsResponse& resp, const Denied& d) {
  keep_visible(resp.groups, d, [](const auto& g) -> std::string_view { return g.group_id; });
}
template <class Resp>
void hide(Resp&, const Denied&) {}

template <class Resp>
void merge_into(const Denied& d, void* response) {
  auto& resp = *static_cast<Resp*>(response);
  if (d.visible) hide(resp, d);
  for (const auto& it : d.items) add_item(resp, it);
}

template <class Resp>
std::shared_ptr<Denied> make_denied() {
  auto d = std::make_shared<Denied>();
  d->merge = &merge_into<Resp>;
  d->response_type = &typeid(Resp);
  return d;
}

// ---- taking denied items out of the request ----------------------------------------------------

template <class Req>
bool decode(const Request& r, Req& out) {
  return static_cast<bool>(protocol::decode_message(r.body(), r.version(), r.flexible(), out));
}

// Replaces the request's body with `req` (the filtered request); the header stays as it was.
template <class Req>
void replace_body(Request& r, const Req& req) {
  std::vector<std::byte> body;
  protocol::Writer w(body);
  protocol::encode_message(req, r.version(), r.flexible(), w);
  Buffer frame;
  frame.reserve(r.body_offset + body.size());
  frame.insert(frame.end(), r.frame.begin(),
               r.frame.begin() + static_cast<std::ptrdiff_t>(r.body_offset));
  frame.insert(frame.end(), body.begin(), body.end());
  r.frame = std::move(frame);
}

// Moves the entries of `list` that `allowed` rejects into `d` (as `to_item` makes them).
template <class T, class Allowed, class ToItem>
void take_denied(std::vector<T>& list, Allowed allowed, ToItem to_item, Denied& d) {
  std::vector<T> kept;
  kept.reserve(list.size());
  for (auto& e : list) {
    if (allowed(e)) {
      kept.push_back(std::move(e));
    } else {
      d.items.push_back(to_item(e));
    }
  }
  list = std::move(kept);
}

// Hands the filtered request on: unchanged when nothing was denied, else with the denied items
// taken out of its body and `d` left for the response.
template <class Req>
Gate proceed(Request& r, const Req& req, std::shared_ptr<Denied> d) {
  if (!d->items.empty()) replace_body(r, req);
  if (!d->items.empty() || d->visible) r.denied = std::move(d);
  return Gate::proceed;
}

template <class Resp>
Gate answer(Request& r, Resp resp, std::shared_ptr<Denied> d) {
  r.denied = std::move(d);
  respond(r, resp);
  return Gate::answered;
}

const Authorizer& az(Broker& b) { return b.authorizer(); }

bool allowed(Broker& b, const Request& r, Operation op, ResourceType type, std::string_view name) {
  return az(b).authorize(*r.session, op, type, name);
}

// A topic the broker would create on first use (auto.create.topics.enable) needs CREATE on the
// cluster or on the topic.
bool may_auto_create(Broker& b, const Request& r, const std::string& topic) {
  if (b.topics().find(topic) != nullptr || b.topics().pending(topic)) return true;
  if (!b.config().auto_create_topics) return true;  // it will not be created
  return allowed(b, r, Operation::create, ResourceType::cluster, kClusterName) ||
         allowed(b, r, Operation::create, ResourceType::topic, topic);
}

template <class Topic>
Denied::Item partitions_item(const std::string& name, const std::vector<Topic>& parts,
                             int16_t error) {
  Denied::Item it{name, {}, error, 0};
  for (const auto& p : parts) {
    if constexpr (requires { p.partition_index; }) {
      it.partitions.push_back(p.partition_index);
    } else if constexpr (requires { p.partition; }) {
      it.partitions.push_back(p.partition);
    } else {
      it.partitions.push_back(p.index);
    }
  }
  return it;
}

}  // namespace

// ---- the check point -------------------------------------------------------------------------

Gate check_request(Broker& b, const ApiRule& rule, AnswerAll answer_all, Request& r) {
  const Authorizer& a = az(b);
  if (!a.enabled()) return Gate::proceed;
  if (rule.cluster != Operation::unknown &&
      !a.authorize(*r.session, rule.cluster, ResourceType::cluster, kClusterName)) {
    FERRY_LOG_RATELIMITED(
        info, "authz", "cluster operation denied", "%s at %s denied %.*s on the cluster (%.*s)",
        log::escape(r.session->principal.to_string()).c_str(), r.session->peer.c_str(),
        static_cast<int>(name_of(rule.cluster).size()), name_of(rule.cluster).data(),
        static_cast<int>(protocol::api_name(r.header.api_key).size()),
        protocol::api_name(r.header.api_key).data());
    answer_all(r, kClusterDenied);
    return Gate::answered;
  }
  if (rule.items != nullptr) return rule.items(b, r);
  return Gate::proceed;
}

// ---- per-API checks --------------------------------------------------------------------------

Gate check_produce(Broker& b, Request& r) {
  protocol::ProduceRequest req;
  if (!decode(r, req)) return Gate::proceed;  // the handler reports it
  auto d = make_denied<protocol::ProduceResponse>();
  take_denied(
      req.topic_data,
      [&](const auto& t) {
        return allowed(b, r, Operation::write, ResourceType::topic, t.name) &&
               may_auto_create(b, r, t.name);
      },
      [](const auto& t) { return partitions_item(t.name, t.partition_data, kTopicDenied); }, *d);
  if (!d->items.empty() && req.acks == 0) {
    // No response to carry the error: Kafka closes an acks=0 producer's connection instead.
    r.slot.close_connection("acks=0 produce to a topic not authorized");
    return Gate::answered;
  }
  return proceed(r, req, std::move(d));
}

Gate check_fetch(Broker& b, Request& r) {
  protocol::FetchRequest req;
  if (!decode(r, req)) return Gate::proceed;
  auto d = make_denied<protocol::FetchResponse>();
  take_denied(
      req.topics,
      [&](const auto& t) { return allowed(b, r, Operation::read, ResourceType::topic, t.topic); },
      [](const auto& t) { return partitions_item(t.topic, t.partitions, kTopicDenied); }, *d);
  // Nothing left to wait for: answer now rather than after max_wait_ms.
  if (!d->items.empty() && req.topics.empty()) {
    return answer(r, protocol::FetchResponse{}, std::move(d));
  }
  return proceed(r, req, std::move(d));
}

Gate check_list_offsets(Broker& b, Request& r) {
  protocol::ListOffsetsRequest req;
  if (!decode(r, req)) return Gate::proceed;
  auto d = make_denied<protocol::ListOffsetsResponse>();
  take_denied(
      req.topics,
      [&](const auto& t) {
        return allowed(b, r, Operation::describe, ResourceType::topic, t.name);
      },
      [](const auto& t) { return partitions_item(t.name, t.partitions, kTopicDenied); }, *d);
  return proceed(r, req, std::move(d));
}

// OffsetForLeaderEpoch: as Kafka, CLUSTER_ACTION on the cluster (replicas) covers every topic;
// without it each topic needs DESCRIBE.
Gate check_offset_for_leader_epoch(Broker& b, Request& r) {
  if (allowed(b, r, Operation::cluster_action, ResourceType::cluster, kClusterName)) {
    return Gate::proceed;
  }
  protocol::OffsetForLeaderEpochRequest req;
  if (!decode(r, req)) return Gate::proceed;
  auto d = make_denied<protocol::OffsetForLeaderEpochResponse>();
  take_denied(
      req.topics,
      [&](const auto& t) {
        return allowed(b, r, Operation::describe, ResourceType::topic, t.topic);
      },
      [](const auto& t) { return partitions_item(t.topic, t.partitions, kTopicDenied); }, *d);
  return proceed(r, req, std::move(d));
}

// Metadata: every listed topic must be describable (the others are left out); a topic asked
// for by name that may not be described, or that would be auto-created without CREATE,
// answers TOPIC_AUTHORIZATION_FAILED.
Gate check_metadata(Broker& b, Request& r) {
  protocol::MetadataRequest req;
  if (!decode(r, req)) return Gate::proceed;
  auto d = make_denied<protocol::MetadataResponse>();
  const Authorizer* a = &az(b);
  std::shared_ptr<const net::Session> s = r.session;
  const bool all = !req.topics || (r.version() == 0 && req.topics->empty());
  if (all) {
    d->visible = [a, s](std::string_view topic) {
      return a->authorize(*s, Operation::describe, ResourceType::topic, topic);
    };
    return proceed(r, req, std::move(d));
  }
  const bool may_create = r.version() < 4 || req.allow_auto_topic_creation;
  take_denied(
      *req.topics,
      [&](const auto& t) {
        return allowed(b, r, Operation::describe, ResourceType::topic, t.name) &&
               (!may_create || may_auto_create(b, r, t.name));
      },
      [](const auto& t) {
        return Denied::Item{t.name, {}, kTopicDenied, 0};
      },
      *d);
  if (r.version() == 0 && req.topics->empty() && !d->items.empty()) {
    // An empty v0 list means "every topic": the handler lists them all and the response keeps
    // none of them, only the denied ones.
    d->visible = [](std::string_view) { return false; };
  }
  return proceed(r, req, std::move(d));
}

namespace {

// OffsetCommit and OffsetDelete: `group_op` on the group (else every item is denied), then READ
// on each named topic (denied topics answered per partition).
template <protocol::ApiKey K, typename Req, typename Resp>
Gate check_group_then_topics(Broker& b, Request& r, Operation group_op) {
  Req req;
  if (!decode(r, req)) return Gate::proceed;
  if (!allowed(b, r, group_op, ResourceType::group, req.group_id)) {
    answer_all<K>(r, kGroupDenied);
    return Gate::answered;
  }
  auto d = make_denied<Resp>();
  take_denied(
      req.topics,
      [&](const auto& t) { return allowed(b, r, Operation::read, ResourceType::topic, t.name); },
      [](const auto& t) { return partitions_item(t.name, t.partitions, kTopicDenied); }, *d);
  return proceed(r, req, std::move(d));
}

}  // namespace

Gate check_offset_commit(Broker& b, Request& r) {
  return check_group_then_topics<protocol::ApiKey::offset_commit, protocol::OffsetCommitRequest,
                                 protocol::OffsetCommitResponse>(b, r, Operation::read);
}

Gate check_offset_fetch(Broker& b, Request& r) {
  protocol::OffsetFetchRequest req;
  if (!decode(r, req)) return Gate::proceed;
  if (!allowed(b, r, Operation::describe, ResourceType::group, req.group_id)) {
    protocol::OffsetFetchResponse resp;
    resp.error_code = kGroupDenied;  // v2+
    if (r.version() < 2 && req.topics) {
      for (const auto& t : *req.topics) {
        auto& rt = push_topic(resp.topics, t.name);
        for (int32_t p : t.partition_indexes) {
          auto& rp = rt.partitions.emplace_back();
          rp.partition_index = p;
          rp.error_code = kGroupDenied;
        }
      }
    }
    respond(r, resp);
    return Gate::answered;
  }
  auto d = make_denied<protocol::OffsetFetchResponse>();
  if (!req.topics) {
    const Authorizer* a = &az(b);
    std::shared_ptr<const net::Session> s = r.session;
    d->visible = [a, s](std::string_view topic) {
      return a->authorize(*s, Operation::describe, ResourceType::topic, topic);
    };
    return proceed(r, req, std::move(d));
  }
  take_denied(
      *req.topics,
      [&](const auto& t) {
        return allowed(b, r, Operation::describe, ResourceType::topic, t.name);
      },
      [](const auto& t) {
        return Denied::Item{t.name, t.partition_indexes, kTopicDenied, 0};
      },
      *d);
  return proceed(r, req, std::move(d));
}

Gate check_find_coordinator(Broker& b, Request& r) {
  protocol::FindCoordinatorRequest req;
  if (!decode(r, req)) return Gate::proceed;
  const bool txn = req.key_type == 1;
  if (allowed(b, r, Operation::describe, txn ? ResourceType::transactional_id : ResourceType::group,
              req.key)) {
    return Gate::proceed;
  }
  protocol::FindCoordinatorResponse resp;
  resp.error_code = txn ? kTransactionalIdDenied : kGroupDenied;
  resp.node_id = -1;
  respond(r, resp);
  return Gate::answered;
}

// JoinGroup, SyncGroup, Heartbeat and LeaveGroup: READ on the group, answered with the
// response's own error code.
Gate check_group_read(Broker& b, Request& r) {
  auto check = [&]<protocol::ApiKey K>() {
    typename protocol::Messages<K>::Request req;
    if (!decode(r, req)) return Gate::proceed;
    if (allowed(b, r, Operation::read, ResourceType::group, req.group_id)) return Gate::proceed;
    answer_all<K>(r, kGroupDenied);
    return Gate::answered;
  };
  switch (r.key()) {
    case protocol::ApiKey::join_group: return check.operator()<protocol::ApiKey::join_group>();
    case protocol::ApiKey::sync_group: return check.operator()<protocol::ApiKey::sync_group>();
    case protocol::ApiKey::heartbeat: return check.operator()<protocol::ApiKey::heartbeat>();
    case protocol::ApiKey::leave_group: return check.operator()<protocol::ApiKey::leave_group>();
    default: return Gate::proceed;
  }
}

Gate check_describe_groups(Broker& b, Request& r) {
  protocol::DescribeGroupsRequest req;
  if (!decode(r, req)) return Gate::proceed;
  auto d = make_denied<protocol::DescribeGroupsResponse>();
  take_denied(
      req.groups,
      [&](const std::string& g) {
        return allowed(b, r, Operation::describe, ResourceType::group, g);
      },
      [](const std::string& g) {
        return Denied::Item{g, {}, kGroupDenied, 0};
      },
      *d);
  return proceed(r, req, std::move(d));
}

// ListGroups: every group with DESCRIBE on the cluster, else only the groups the principal may
// describe.
Gate check_list_groups(Broker& b, Request& r) {
  if (allowed(b, r, Operation::describe, ResourceType::cluster, kClusterName)) {
    return Gate::proceed;
  }
  auto d = make_denied<protocol::ListGroupsResponse>();
  const Authorizer* a = &az(b);
  std::shared_ptr<const net::Session> s = r.session;
  d->visible = [a, s](std::string_view group) {
    return a->authorize(*s, Operation::describe, ResourceType::group, group);
  };
  r.denied = std::move(d);
  return Gate::proceed;
}

Gate check_delete_groups(Broker& b, Request& r) {
  protocol::DeleteGroupsRequest req;
  if (!decode(r, req)) return Gate::proceed;
  auto d = make_denied<protocol::DeleteGroupsResponse>();
  take_denied(
      req.groups_names,
      [&](const std::string& g) { return allowed(b, r, Operation::del, ResourceType::group, g); },
      [](const std::string& g) {
        return Denied::Item{g, {}, kGroupDenied, 0};
      },
      *d);
  return proceed(r, req, std::move(d));
}

Gate check_offset_delete(Broker& b, Request& r) {
  return check_group_then_topics<protocol::ApiKey::offset_delete, protocol::OffsetDeleteRequest,
                                 protocol::OffsetDeleteResponse>(b, r, Operation::del);
}

Gate check_create_topics(Broker& b, Request& r) {
  if (allowed(b, r, Operation::create, ResourceType::cluster, kClusterName)) {
    return Gate::proceed;
  }
  protocol::CreateTopicsRequest req;
  if (!decode(r, req)) return Gate::proceed;
  auto d = make_denied<protocol::CreateTopicsResponse>();
  take_denied(
      req.topics,
      [&](const auto& t) { return allowed(b, r, Operation::create, ResourceType::topic, t.name); },
      [](const auto& t) {
        return Denied::Item{t.name, {}, kTopicDenied, 0};
      },
      *d);
  return proceed(r, req, std::move(d));
}

Gate check_delete_topics(Broker& b, Request& r) {
  protocol::DeleteTopicsRequest req;
  if (!decode(r, req)) return Gate::proceed;
  auto d = make_denied<protocol::DeleteTopicsResponse>();
  take_denied(
      req.topic_names,
      [&](const std::string& t) { return allowed(b, r, Operation::del, ResourceType::topic, t); },
      [](const std::string& t) {
        return Denied::Item{t, {}, kTopicDenied, 0};
      },
      *d);
  return proceed(r, req, std::move(d));
}

Gate check_create_partitions(Broker& b, Request& r) {
  protocol::CreatePartitionsRequest req;
  if (!decode(r, req)) return Gate::proceed;
  auto d = make_denied<protocol::CreatePartitionsResponse>();
  take_denied(
      req.topics,
      [&](const auto& t) { return allowed(b, r, Operation::alter, ResourceType::topic, t.name); },
      [](const auto& t) {
        return Denied::Item{t.name, {}, kTopicDenied, 0};
      },
      *d);
  return proceed(r, req, std::move(d));
}

namespace {
// Config resources: a topic's configs are checked on the topic, the broker's (and its
// loggers') on the cluster.
template <class Req, class Resp>
Gate check_config_resources(Broker& b, Request& r, Operation op) {
  Req req;
  if (!decode(r, req)) return Gate::proceed;
  auto d = make_denied<Resp>();
  take_denied(
      req.resources,
      [&](const auto& res) {
        return res.resource_type == kConfigTopic
                   ? allowed(b, r, op, ResourceType::topic, res.resource_name)
                   : allowed(b, r, op, ResourceType::cluster, kClusterName);
      },
      [](const auto& res) {
        return Denied::Item{res.resource_name,
                            {},
                            res.resource_type == kConfigTopic ? kTopicDenied : kClusterDenied,
                            res.resource_type};
      },
      *d);
  return proceed(r, req, std::move(d));
}
}  // namespace

Gate check_describe_configs(Broker& b, Request& r) {
  return check_config_resources<protocol::DescribeConfigsRequest,
                                protocol::DescribeConfigsResponse>(b, r,
                                                                   Operation::describe_configs);
}

Gate check_alter_configs(Broker& b, Request& r) {
  if (r.key() == protocol::ApiKey::incremental_alter_configs) {
    return check_config_resources<protocol::IncrementalAlterConfigsRequest,
                                  protocol::IncrementalAlterConfigsResponse>(
        b, r, Operation::alter_configs);
  }
  return check_config_resources<protocol::AlterConfigsRequest, protocol::AlterConfigsResponse>(
      b, r, Operation::alter_configs);
}

// InitProducerId: with a transactional id, WRITE on it; without, IDEMPOTENT_WRITE on the
// cluster or WRITE on some topic.
Gate check_init_producer_id(Broker& b, Request& r) {
  protocol::InitProducerIdRequest req;
  if (!decode(r, req)) return Gate::proceed;
  const Authorizer& a = az(b);
  if (req.transactional_id) {
    if (a.authorize(*r.session, Operation::write, ResourceType::transactional_id,
                    *req.transactional_id)) {
      return Gate::proceed;
    }
    answer_all<protocol::ApiKey::init_producer_id>(r, kTransactionalIdDenied);
    return Gate::answered;
  }
  if (a.authorize(*r.session, Operation::idempotent_write, ResourceType::cluster, kClusterName) ||
      a.authorize_any(*r.session, Operation::write, ResourceType::topic)) {
    return Gate::proceed;
  }
  answer_all<protocol::ApiKey::init_producer_id>(r, kClusterDenied);
  return Gate::answered;
}

// ---- whole-request answers for responses without a top-level error code -----------------------

void fill_all(const protocol::OffsetCommitRequest& req, protocol::OffsetCommitResponse& resp,
              int16_t error) {
  for (const auto& t : req.topics) {
    add_partitioned(resp, partitions_item(t.name, t.partitions, error));
  }
}

void fill_all(const protocol::CreateAclsRequest& req, protocol::CreateAclsResponse& resp,
              int16_t error) {
  for (size_t i = 0; i < req.creations.size(); ++i) {
    resp.results.push_back(
        {error, std::string(protocol::error_message(static_cast<ErrorCode>(error)))});
  }
}

void fill_all(const protocol::DeleteAclsRequest& req, protocol::DeleteAclsResponse& resp,
              int16_t error) {
  for (size_t i = 0; i < req.filters.size(); ++i) {
    auto& f = resp.filter_results.emplace_back();
    f.error_code = error;
    f.error_message = std::string(protocol::error_message(static_cast<ErrorCode>(error)));
  }
}

void fill_all(const protocol::CreateTopicsRequest& req, protocol::CreateTopicsResponse& resp,
              int16_t error) {
  for (const auto& t : req.topics) push_topic(resp.topics, t.name).error_code = error;
}

}  // namespace ferry::broker::authz
