// What the replica manager sends to, and receives from, the other nodes: coalesced frames, each
// carrying many groups. PeerNetwork (one connection per node pair) carries them in production;
// tests use an in-process fake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cluster/raft_codec.h"
#include "cluster/raft_messages.h"
#include "common/result.h"

namespace ferry::cluster {

// The frames (VoteFrame, FetchRequest, FetchResponse) and GroupId are raft_codec.h's.

// "topic-partition", for logs.
inline std::string group_name(const GroupId& g) {
  return g.topic + "-" + std::to_string(g.partition.value());
}

// Leadership of the groups a node leads, told to every other node (Metadata on any node names
// every partition's leader, also of partitions it does not hold).
struct LeaderInfo {
  GroupId group;
  LeaderEpoch epoch{0};
  NodeId leader = kNoNode;
  std::vector<NodeId> isr;
};

// A node's Kafka listeners as clients reach them (its advertised addresses), told to every other
// node so that any node's Metadata lists every broker.
struct NodeInfo {
  NodeId node = kNoNode;
  struct Listener {
    std::string name;  // PLAINTEXT, SASL_SSL, ...
    std::string host;
    int32_t port = 0;
  };
  std::vector<Listener> listeners;
};

// The controller's answer to a forwarded topic change: its error (0: committed) and, when
// committed, the metadata-log offset after it.
struct ProposalAnswer {
  int16_t error_code = 0;
  std::string message;
  Offset end{0};
};

class PeerTransport {
 public:
  virtual ~PeerTransport() = default;
  // One-way; lost when the link is down (Raft retries by its timers).
  virtual void send_votes(NodeId to, VoteFrame frame) = 0;
  virtual void send_leaders(NodeId to, std::vector<LeaderInfo> leaders) = 0;
  virtual void send_node_info(NodeId to, NodeInfo info) = 0;
  // Asks the controller to auto-create `topic` (a client asked another node for it).
  virtual void send_auto_create(NodeId to, std::string topic) = 0;
  // Forwards a topic change (a metadata-log record batch) to the controller.
  virtual void send_proposal(NodeId to, std::vector<std::byte> batch,
                             std::function<void(Result<ProposalAnswer>)> done) = 0;
  // `done` fires once, on the loop: the answer, or an error when the link dropped or timed out.
  virtual void fetch(NodeId to, FetchRequest request,
                     std::function<void(Result<FetchResponse>)> done) = 0;
  // Whether a connection to `to` is open now (a fetch that failed as its connection closed while
  // a newer one is open lost only the old one).
  virtual bool connected(NodeId to) const = 0;
};

}  // namespace ferry::cluster
