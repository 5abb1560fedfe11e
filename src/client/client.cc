// Client: bootstrap, Metadata and its cache, FindCoordinator, the connection per broker and the
// reconnect backoff.
#include "client/client.h"

#include <algorithm>

namespace ferry::client {

using protocol::ApiKey;
using protocol::ErrorCode;

Client::Client(uv_loop_t* loop, std::string host, uint16_t port, ConnectionOptions options,
               ClientOptions client_options)
    : Client(loop, std::vector<BrokerAddress>{{std::move(host), port}}, std::move(options),
             client_options) {}

Client::Client(uv_loop_t* loop, std::vector<BrokerAddress> bootstrap, ConnectionOptions options,
               ClientOptions client_options)
    : loop_(loop),
      bootstrap_addresses_(std::move(bootstrap)),
      options_(std::move(options)),
      client_options_(client_options),
      jitter_(static_cast<std::minstd_rand::result_type>(uv_hrtime())) {
  if (bootstrap_addresses_.empty()) bootstrap_addresses_.push_back({"127.0.0.1", 9092});
}

Connection& Client::bootstrap() {
  if (!bootstrap_ || bootstrap_->failed()) {
    const BrokerAddress& a = bootstrap_address();
    bootstrap_ = std::make_unique<Connection>(loop_, a.host, a.port, options_);
  }
  return *bootstrap_;
}

void Client::rotate_bootstrap() {
  note_failure(bootstrap_address().to_string());
  bootstrap_index_ = (bootstrap_index_ + 1) % bootstrap_addresses_.size();
  // The failed connection goes now (its requests have failed already); bootstrap() opens one to
  // the new address once its backoff allows.
  bootstrap_.reset();
}

Connection& Client::connection(NodeId node) {
  auto known = brokers_.find(node);
  // Callers make sure the node is known (with_node, find_coordinator); should it not be, the
  // bootstrap broker answers rather than anything throwing on the loop.
  if (known == brokers_.end()) return bootstrap();
  const BrokerAddress& a = known->second;
  if (a.host == bootstrap_address().host && a.port == bootstrap_address().port) {
    return bootstrap();
  }
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
  send_any<ApiKey::metadata>(
      std::move(req), [this, done = std::move(done)](KafkaResult<protocol::MetadataResponse> r) {
        if (r) absorb(*r);
        done(std::move(r));
      });
}

void Client::absorb(const protocol::MetadataResponse& r) {
  brokers_.clear();
  for (const auto& b : r.brokers) {
    brokers_[NodeId(b.node_id)] = {b.host, static_cast<uint16_t>(b.port)};
  }
  for (const auto& t : r.topics) {
    TopicMetadata m;
    m.name = t.name;
    m.error_code = t.error_code;
    for (const auto& p : t.partitions) {
      m.partitions.push_back({p.partition_index, NodeId(p.leader_id), p.error_code});
    }
    std::sort(m.partitions.begin(), m.partitions.end(),
              [](const auto& a, const auto& b) { return a.partition < b.partition; });
    topics_[t.name] = std::move(m);
    stale_.erase(t.name);
  }
}

const TopicMetadata* Client::cached_topic(const std::string& topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? nullptr : &it->second;
}

void Client::invalidate_metadata(const std::string& topic) { stale_.insert(topic); }

void Client::topic_metadata(const std::string& topic,
                            std::function<void(KafkaResult<TopicMetadata>)> done) {
  wanted_.insert(topic);
  const bool expired = uv_now(loop_) - metadata_at_ms_ >= client_options_.metadata_max_age_ms;
  auto it = topics_.find(topic);
  if (it != topics_.end() && stale_.count(topic) == 0 && !expired && it->second.error_code == 0) {
    done(it->second);
    return;
  }
  waiters_.push_back({topic, std::move(done)});
  if (!metadata_in_flight_) refresh_metadata();
}

void Client::refresh_metadata() {
  metadata_in_flight_ = true;
  asked_ = wanted_;
  protocol::MetadataRequest req;
  req.topics.emplace();
  for (const auto& t : asked_) req.topics->push_back({t});
  req.allow_auto_topic_creation = client_options_.allow_auto_topic_creation;
  send_any<ApiKey::metadata>(std::move(req), [this](KafkaResult<protocol::MetadataResponse> r) {
    metadata_in_flight_ = false;
    auto asked = std::move(asked_);
    asked_.clear();
    if (r) {
      absorb(*r);
      metadata_at_ms_ = uv_now(loop_);
      answer_waiters(asked, std::nullopt);
    } else {
      answer_waiters(asked, r.error());
    }
  });
}

void Client::answer_waiters(const std::set<std::string>& asked,
                            const std::optional<KafkaError>& error) {
  std::vector<MetadataWaiter> ready;
  std::vector<MetadataWaiter> later;
  for (auto& w : waiters_) (asked.count(w.topic) != 0 ? ready : later).push_back(std::move(w));
  waiters_ = std::move(later);
  // Topics asked for while the request was in flight get a request of their own.
  if (!waiters_.empty() && !metadata_in_flight_) refresh_metadata();
  for (auto& w : ready) {
    if (error) {
      w.done(*error);
      continue;
    }
    auto it = topics_.find(w.topic);
    if (it == topics_.end()) {
      w.done(KafkaError::broker(ErrorCode::unknown_topic_or_partition,
                                "the broker did not describe topic " + w.topic));
    } else if (it->second.error_code != 0) {
      w.done(KafkaError::broker(it->second.error_code, "topic " + w.topic));
    } else {
      w.done(it->second);
    }
  }
}

void Client::leader(const std::string& topic, int32_t partition,
                    std::function<void(KafkaResult<NodeId>)> done) {
  topic_metadata(topic, [topic, partition, done = std::move(done)](KafkaResult<TopicMetadata> m) {
    if (!m) {
      done(std::move(m).error());
      return;
    }
    for (const auto& p : m->partitions) {
      if (p.partition != partition) continue;
      if (p.leader.value() < 0) {
        done(KafkaError::broker(p.error_code != 0 ? static_cast<ErrorCode>(p.error_code)
                                                  : ErrorCode::leader_not_available,
                                topic + "/" + std::to_string(partition)));
      } else {
        done(p.leader);
      }
      return;
    }
    done(KafkaError::broker(ErrorCode::unknown_topic_or_partition,
                            topic + " has no partition " + std::to_string(partition)));
  });
}

void Client::with_connection(std::optional<NodeId> node,
                             std::function<void(KafkaResult<Connection*>)> then) {
  if (!node) {
    bool failed = bootstrap_ && bootstrap_->failed();
    if (failed && bootstrap_addresses_.size() > 1) {
      rotate_bootstrap();
      failed = false;  // the new address waits only for a backoff of its own failures
    }
    after_backoff(bootstrap_address().to_string(), failed,
                  [this, then = std::move(then)] { then(&bootstrap()); });
    return;
  }
  with_node(*node, [this, n = *node, then = std::move(then)](std::optional<KafkaError> e) mutable {
    if (e) {
      then(std::move(*e));
      return;
    }
    const BrokerAddress& a = brokers_[n];
    bool failed = false;
    if (a.host == bootstrap_address().host && a.port == bootstrap_address().port) {
      failed = bootstrap_ && bootstrap_->failed();
    } else if (auto it = connections_.find(n); it != connections_.end() && it->second) {
      failed = it->second->failed();
    }
    after_backoff(a.to_string(), failed,
                  [this, n, then = std::move(then)] { then(&connection(n)); });
  });
}

void Client::note_failure(const std::string& address) {
  Backoff& b = backoff_[address];
  b.delay_ms = b.delay_ms == 0 ? client_options_.reconnect_backoff_ms
                               : std::min(b.delay_ms * 2, client_options_.reconnect_backoff_max_ms);
  const double spread = std::clamp(client_options_.reconnect_jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> factor(1.0 - spread, 1.0 + spread);
  const auto jittered = static_cast<uint64_t>(static_cast<double>(b.delay_ms) * factor(jitter_));
  b.not_before_ms = uv_now(loop_) + jittered;
}

void Client::after_backoff(const std::string& address, bool failed, std::function<void()> then) {
  Backoff& b = backoff_[address];
  const uint64_t now = uv_now(loop_);
  if (failed && b.not_before_ms <= now && !(b.timer && b.timer->active())) {
    // A failure not seen before: wait longer than the last time before reconnecting.
    note_failure(address);
  }
  if (b.not_before_ms <= now) {
    then();
    return;
  }
  b.waiting.push_back(std::move(then));
  if (!b.timer) b.timer = std::make_unique<UvTimer>(loop_);
  if (!b.timer->active()) {
    b.timer->start(b.not_before_ms - now, [this, address] {
      auto waiting = std::move(backoff_[address].waiting);
      backoff_[address].waiting.clear();
      for (auto& w : waiting) w();
    });
  }
}

void Client::connected(const std::string& address) {
  if (auto it = backoff_.find(address); it != backoff_.end()) it->second.delay_ms = 0;
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
  send_any<ApiKey::find_coordinator>(
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

bool Client::is_leader_error(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::not_leader_or_follower:
    case ErrorCode::leader_not_available:
    case ErrorCode::unknown_topic_or_partition:
    case ErrorCode::replica_not_available:
    case ErrorCode::fenced_leader_epoch:
    case ErrorCode::unknown_leader_epoch:
    case ErrorCode::kafka_storage_error:
    case ErrorCode::offset_not_available: return true;
    default: return false;
  }
}

void Client::close() {
  if (bootstrap_) bootstrap_->close();
  for (auto& [node, c] : connections_) {
    if (c) c->close();
  }
}

}  // namespace ferry::client
