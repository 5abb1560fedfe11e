// Client: bootstrap, Metadata, FindCoordinator and the connection per broker.
#include "client/client.h"

namespace ferry::client {

using protocol::ApiKey;
using protocol::ErrorCode;

Client::Client(uv_loop_t* loop, std::string host, uint16_t port, ConnectionOptions options)
    : loop_(loop), bootstrap_address_{std::move(host), port}, options_(std::move(options)) {}

Connection& Client::bootstrap() {
  if (!bootstrap_ || bootstrap_->failed()) {
    bootstrap_ = std::make_unique<Connection>(loop_, bootstrap_address_.host,
                                              bootstrap_address_.port, options_);
  }
  return *bootstrap_;
}

Connection& Client::connection(NodeId node) {
  auto known = brokers_.find(node);
  // Callers make sure the node is known (with_node, find_coordinator); should it not be, the
  // bootstrap broker answers rather than anything throwing on the loop.
  if (known == brokers_.end()) return bootstrap();
  const BrokerAddress& a = known->second;
  if (a.host == bootstrap_address_.host && a.port == bootstrap_address_.port) return bootstrap();
  auto& c = connections_[node];
  if (!c || c->failed() || c->host() != a.host || c->port() != a.port)
    c = std::make_unique<Connection>(loop_, a.host, a.port, options_);
  return *c;
}

void Client::metadata(std::optional<std::vector<std::string>> topics,
                      Callback<ApiKey::metadata> done) {
  protocol::MetadataRequest req;
  if (topics) {
    req.topics.emplace();
    for (auto& t : *topics) req.topics->push_back({std::move(t)});
  } else {
    req.topics.reset();
  }
  req.allow_auto_topic_creation = false;
  bootstrap().send<ApiKey::metadata>(
      std::move(req), [this, done = std::move(done)](KafkaResult<protocol::MetadataResponse> r) {
        if (r) {
          brokers_.clear();
          for (const auto& b : r->brokers) {
            brokers_[NodeId(b.node_id)] = {b.host, static_cast<uint16_t>(b.port)};
          }
        }
        done(std::move(r));
      });
}

void Client::with_node(NodeId node, std::function<void(std::optional<KafkaError>)> then) {
  if (brokers_.count(node) != 0) {
    then(std::nullopt);
    return;
  }
  metadata(std::vector<std::string>{},
           [this, node, then = std::move(then)](KafkaResult<protocol::MetadataResponse> r) {
             if (!r) {
               then(std::move(r).error());
             } else if (brokers_.count(node) == 0) {
               then(KafkaError::local(
                   ErrorCode::broker_not_available,
                   "broker " + std::to_string(node.value()) + " is not in the cluster metadata"));
             } else {
               then(std::nullopt);
             }
           });
}

void Client::find_coordinator(const std::string& group,
                              std::function<void(KafkaResult<NodeId>)> done) {
  if (auto it = coordinators_.find(group); it != coordinators_.end()) {
    const NodeId node = it->second;
    with_node(node, [node, done = std::move(done)](std::optional<KafkaError> e) {
      if (e) {
        done(std::move(*e));
      } else {
        done(node);
      }
    });
    return;
  }
  protocol::FindCoordinatorRequest req;
  req.key = group;
  req.key_type = 0;
  bootstrap().send<ApiKey::find_coordinator>(
      std::move(req),
      [this, group, done = std::move(done)](KafkaResult<protocol::FindCoordinatorResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        if (r->error_code != 0) {
          done(KafkaError::broker(r->error_code, r->error_message.value_or("")));
          return;
        }
        const NodeId node(r->node_id);
        brokers_[node] = {r->host, static_cast<uint16_t>(r->port)};
        coordinators_[group] = node;
        done(node);
      });
}

void Client::close() {
  if (bootstrap_) bootstrap_->close();
  for (auto& [node, c] : connections_) {
    if (c) c->close();
  }
}

}  // namespace ferry::client
