// What the broker asks of the cluster when it runs as one node of several (src/cluster's
// metadata quorum implements it): topic changes are proposed to the metadata quorum and take
// effect on every node when applied; each node opens only the partitions it holds; Metadata
// names each partition's leader, replicas and ISR and every node's address.
// A single node has none (TopicManager::quorum() is null) and works as it always has.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/kafka_error.h"
#include "broker/partition.h"
#include "common/strong_types.h"
#include "meta/store.h"

namespace ferry::broker {

struct BrokerEndpoint {
  NodeId node{-1};
  std::string host;
  int32_t port = 0;
};

class TopicQuorum {
 public:
  using Done = std::function<void(KafkaError)>;
  virtual ~TopicQuorum() = default;

  NodeId self() const noexcept { return self_; }
  virtual size_t node_count() const = 0;
  // The controller (the metadata quorum's leader); -1 while unknown.
  virtual NodeId controller() const = 0;
  // Every node's address for clients that came in on `listener` (this node's included),
  // as far as known.
  virtual std::vector<BrokerEndpoint> brokers(std::string_view listener) const = 0;

  // Proposals (validated by the TopicManager first). `done` fires once the change is committed
  // and applied on this node, or with NOT_CONTROLLER (this node does not lead the metadata
  // quorum: clients retry at the controller Metadata names) or REQUEST_TIMED_OUT.
  virtual void propose_create(meta::TopicRecord record, int16_t replication_factor, Done done) = 0;
  virtual void propose_delete(const std::string& name, Done done) = 0;
  virtual void propose_partitions(const std::string& name, int32_t total, Done done) = 0;
  virtual void propose_configs(const std::string& name, std::map<std::string, std::string> set,
                               std::vector<std::string> remove, bool replace_all, Done done) = 0;
  // Whether this node has applied the metadata log up to the high watermark it learned from the
  // controller, at least once since it started. Until then (a node started with an empty data
  // directory, catching up) its topic list is not the cluster's: a topic it does not know yet
  // is answered LEADER_NOT_AVAILABLE rather than UNKNOWN_TOPIC_OR_PARTITION.
  virtual bool caught_up() const = 0;
  // Auto-creation asked on a node that is not the controller: forwarded to it.
  virtual void request_auto_create(const std::string& name) = 0;

  // The nodes holding a partition, preferred leader first (empty: unknown).
  virtual std::vector<NodeId> replicas(const std::string& topic, int32_t partition) const = 0;
  // Leader, replicas, ISR and offline replicas of any partition, with its leader epoch.
  virtual Partition::Replicas describe(const std::string& topic, int32_t partition,
                                       LeaderEpoch* epoch) const = 0;
  // A local replica was opened (join its Raft group) / is about to be removed.
  virtual void opened(const std::shared_ptr<Partition>& partition) = 0;
  virtual void closing(const std::string& topic, int32_t partition) = 0;

 protected:
  explicit TopicQuorum(NodeId self) : self_(self) {}

 private:
  NodeId self_;
};

}  // namespace ferry::broker
