// A small Kafka client: bootstraps from one host:port, learns the brokers from Metadata, finds
// group coordinators (FindCoordinator) and routes each request to the right broker.
//
//   Client c(loop, "127.0.0.1", 9092, {});
//   c.send_to_coordinator<ApiKey::describe_groups>("g", "g", req, [](auto r) { ... });
//
// Routing: send_any() goes to the bootstrap broker; send_to_node() to a broker named in the
// last Metadata answer (fetching Metadata first when the node is unknown); send_to_coordinator()
// to the coordinator of a group, found once with FindCoordinator and then cached. Callbacks of
// send_*() never run before the call returns. Connections
// are opened on first use, one per broker, and replaced when they have failed; no request is
// retried (a caller sees NOT_COORDINATOR and the like and decides).
//
// Threading: loop thread only; callbacks run on the loop thread. Ownership: the caller owns the
// Client and must keep it alive until its callbacks have run, or destroy it on the loop thread
// (pending callbacks are then dropped); run the loop afterwards so the handles finish closing.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/connection.h"
#include "common/strong_types.h"

namespace ferry::client {

struct BrokerAddress {
  std::string host;
  uint16_t port = 0;
};

class Client {
 public:
  template <protocol::ApiKey K>
  using Callback = Connection::Callback<K>;

  Client(uv_loop_t* loop, std::string host, uint16_t port, ConnectionOptions options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  uv_loop_t* loop() const noexcept { return loop_; }
  // Brokers from the last Metadata answer (and from FindCoordinator answers).
  const std::map<NodeId, BrokerAddress>& brokers() const noexcept { return brokers_; }

  template <protocol::ApiKey K>
  void send_any(typename protocol::Messages<K>::Request req, Callback<K> done) {
    bootstrap().template send<K>(std::move(req), std::move(done));
  }

  template <protocol::ApiKey K>
  void send_to_node(NodeId node, typename protocol::Messages<K>::Request req, Callback<K> done) {
    with_node(node, [this, node, req = std::move(req),
                     done = std::move(done)](std::optional<KafkaError> e) mutable {
      if (e) {
        done(std::move(*e));
        return;
      }
      connection(node).template send<K>(std::move(req), std::move(done));
    });
  }

  template <protocol::ApiKey K>
  void send_to_coordinator(const std::string& group, typename protocol::Messages<K>::Request req,
                           Callback<K> done) {
    find_coordinator(group, [this, req = std::move(req),
                             done = std::move(done)](KafkaResult<NodeId> node) mutable {
      if (!node) {
        done(std::move(node).error());
        return;
      }
      connection(*node).template send<K>(std::move(req), std::move(done));
    });
  }

  // Metadata for `topics` (nullopt: every topic; empty: none, just the brokers). Updates
  // brokers(). Topic-level errors are left in the response for the caller.
  void metadata(std::optional<std::vector<std::string>> topics,
                Callback<protocol::ApiKey::metadata> done);

  // The coordinator of `group`, cached after the first answer; a cached answer is given at once
  // (before find_coordinator returns), a new one on a later loop turn.
  void find_coordinator(const std::string& group, std::function<void(KafkaResult<NodeId>)> done);

  // Closes every connection; pending requests fail with NETWORK_EXCEPTION.
  void close();

 private:
  Connection& bootstrap();
  // A live connection to a known node (the bootstrap one when the address is the same).
  Connection& connection(NodeId node);
  // Makes sure `node` is in brokers_, fetching Metadata when it is not.
  void with_node(NodeId node, std::function<void(std::optional<KafkaError>)> then);

  uv_loop_t* loop_;
  BrokerAddress bootstrap_address_;
  ConnectionOptions options_;
  std::unique_ptr<Connection> bootstrap_;
  std::map<NodeId, BrokerAddress> brokers_;
  std::map<NodeId, std::unique_ptr<Connection>> connections_;
  std::map<std::string, NodeId> coordinators_;
};

}  // namespace ferry::client
