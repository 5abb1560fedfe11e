// A small Kafka client: bootstraps from one of a list of host:port (bootstrap.servers), learns
// the brokers and the partition leaders from Metadata, finds group coordinators (FindCoordinator)
// and routes each request to the right broker.
//
//   Client c(loop, "127.0.0.1", 9092, {});
//   c.send_to_coordinator<ApiKey::describe_groups>("g", "g", req, [](auto r) { ... });
//   c.send_to_leader<ApiKey::produce>("t", 0, req, [](auto r) { ... });
//
// Bootstrap fallback: the bootstrap broker is the first address of the list until its
// connection fails (refused, TLS or SASL handshake failed, timed out, cut); the next request for
// the bootstrap broker then goes to the next address, round robin. Each address keeps its own
// reconnect backoff, so a list of dead addresses is tried once each at once, then each no sooner
// than its backoff allows. Brokers named by Metadata are reached at their advertised addresses.
//
// Routing: send_any() goes to the bootstrap broker; send_to_node() to a broker named in the
// last Metadata answer (fetching Metadata first when the node is unknown); send_to_coordinator()
// to the coordinator of a group, found with FindCoordinator and cached until a request to it
// fails or the caller forgets it (NOT_COORDINATOR);
// send_to_leader() to the leader of a partition from the metadata cache. Callbacks of send_*()
// never run before the call returns. No request is retried (a caller sees NOT_COORDINATOR,
// NOT_LEADER_OR_FOLLOWER and the like and decides).
//
// Metadata cache: topic -> partitions -> leader, filled by every Metadata answer. A topic is
// fetched when first asked for, again once invalidate_metadata() marked it stale (callers do so
// on the errors is_leader_error() names; send_to_leader() does so itself when the connection
// fails), and when the cache is older than
// metadata_max_age_ms at the next lookup. Concurrent lookups share one Metadata request.
//
// Connections are opened on first use, one per broker. A failed connection is replaced after a
// backoff (reconnect_backoff_ms doubling up to reconnect_backoff_max_ms, +-reconnect_jitter, reset
// by the next answer from that broker), so that a broker that is down is not hammered.
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
#include <random>
#include <set>
#include <string>
#include <vector>

#include "client/connection.h"
#include "common/strong_types.h"
#include "common/uv_timer.h"

namespace ferry::client {

struct BrokerAddress {
  std::string host;
  uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

struct ClientOptions {
  uint64_t metadata_max_age_ms = 300'000;
  uint64_t reconnect_backoff_ms = 100;
  uint64_t reconnect_backoff_max_ms = 10'000;
  // Spread of each reconnect delay: a random factor in [1 - jitter, 1 + jitter] (0 to 1).
  double reconnect_jitter = 0.2;
  // Sent with the cache's Metadata requests (Kafka's producers ask brokers to create topics).
  bool allow_auto_topic_creation = true;
};

// One topic of the metadata cache.
struct PartitionMetadata {
  int32_t partition = 0;
  NodeId leader{-1};
  int16_t error_code = 0;
};
struct TopicMetadata {
  std::string name;
  int16_t error_code = 0;
  std::vector<PartitionMetadata> partitions;  // by partition index
};

class Client {
 public:
  template <protocol::ApiKey K>
  using Callback = Connection::Callback<K>;

  Client(uv_loop_t* loop, std::string host, uint16_t port, ConnectionOptions options,
         ClientOptions client_options = {});
  // `bootstrap` must not be empty; tried in this order (see Bootstrap fallback above).
  Client(uv_loop_t* loop, std::vector<BrokerAddress> bootstrap, ConnectionOptions options,
         ClientOptions client_options = {});
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  uv_loop_t* loop() const noexcept { return loop_; }
  // The bootstrap address in use now (the one the next bootstrap connection goes to).
  const BrokerAddress& bootstrap_address() const noexcept {
    return bootstrap_addresses_[bootstrap_index_];
  }
  // Brokers from the last Metadata answer (and from FindCoordinator answers).
  const std::map<NodeId, BrokerAddress>& brokers() const noexcept { return brokers_; }

  template <protocol::ApiKey K>
  void send_any(typename protocol::Messages<K>::Request req, Callback<K> done) {
    send_via<K>(std::nullopt, std::move(req), std::move(done));
  }

  template <protocol::ApiKey K>
  void send_to_node(NodeId node, typename protocol::Messages<K>::Request req, Callback<K> done) {
    send_via<K>(node, std::move(req), std::move(done));
  }

  // Like send_to_node() for a request that gets no response (Produce with acks=0): `done` runs
  // once the request is written.
  template <protocol::ApiKey K>
  void send_oneway_to_node(NodeId node, typename protocol::Messages<K>::Request req,
                           std::function<void(KafkaStatus)> done) {
    with_connection(
        node, [req = std::move(req), done = std::move(done)](KafkaResult<Connection*> c) mutable {
          if (!c) {
            done(std::move(c).error());
            return;
          }
          (*c)->template send_oneway<K>(std::move(req), std::move(done));
        });
  }

  // Sends to the coordinator of `group`. A failed connection or timeout forgets the cached
  // coordinator; so should the caller on NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE in the
  // response (forget_coordinator(), or is_coordinator_error()).
  template <protocol::ApiKey K>
  void send_to_coordinator(const std::string& group, typename protocol::Messages<K>::Request req,
                           Callback<K> done) {
    find_coordinator(group, [this, group, req = std::move(req),
                             done = std::move(done)](KafkaResult<NodeId> node) mutable {
      if (!node) {
        done(std::move(node).error());
        return;
      }
      send_to_node<K>(*node, std::move(req),
                      [this, group, done = std::move(done)](
                          KafkaResult<typename protocol::Messages<K>::Response> r) {
                        if (!r && !r.error().from_broker()) forget_coordinator(group);
                        done(std::move(r));
                      });
    });
  }

  // Sends to the leader of topic/partition (from the metadata cache). A failed connection or
  // timeout marks the topic's metadata stale; errors inside the response are the caller's.
  template <protocol::ApiKey K>
  void send_to_leader(const std::string& topic, int32_t partition,
                      typename protocol::Messages<K>::Request req, Callback<K> done) {
    leader(topic, partition,
           [this, topic, req = std::move(req),
            done = std::move(done)](KafkaResult<NodeId> node) mutable {
             if (!node) {
               done(std::move(node).error());
               return;
             }
             send_to_node<K>(*node, std::move(req),
                             [this, topic, done = std::move(done)](
                                 KafkaResult<typename protocol::Messages<K>::Response> r) {
                               if (!r && !r.error().from_broker()) invalidate_metadata(topic);
                               done(std::move(r));
                             });
           });
  }

  // The cached metadata of `topic`, refreshed first when missing, stale or older than
  // metadata_max_age_ms. A fresh cached answer is given at once (before the call returns), a
  // fetched one on a later loop turn. A topic-level error (UNKNOWN_TOPIC_OR_PARTITION,
  // LEADER_NOT_AVAILABLE while it is being created) is returned as the error.
  void topic_metadata(const std::string& topic,
                      std::function<void(KafkaResult<TopicMetadata>)> done);
  // The leader of topic/partition from topic_metadata(); LEADER_NOT_AVAILABLE when the partition
  // has none, UNKNOWN_TOPIC_OR_PARTITION when the topic has no such partition.
  void leader(const std::string& topic, int32_t partition,
              std::function<void(KafkaResult<NodeId>)> done);
  // The cached entry, or nullptr; never fetches.
  const TopicMetadata* cached_topic(const std::string& topic) const;
  // Marks `topic` stale: the next lookup fetches Metadata again.
  void invalidate_metadata(const std::string& topic);

  // Metadata for `topics` (nullopt: every topic; empty: none, just the brokers). Updates
  // brokers(). Topic-level errors are left in the response for the caller.
  void metadata(std::optional<std::vector<std::string>> topics,
                Callback<protocol::ApiKey::metadata> done);

  // The coordinator of `group`, cached after the first answer; a cached answer is given at once
  // (before find_coordinator returns), a new one on a later loop turn.
  void find_coordinator(const std::string& group, std::function<void(KafkaResult<NodeId>)> done);
  // Drops the cached coordinator of `group`: the next request finds it again.
  void forget_coordinator(const std::string& group) { coordinators_.erase(group); }
  // NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS: the group's
  // coordinator moved or is starting; find it again and retry.
  static bool is_coordinator_error(protocol::ErrorCode code) noexcept {
    return code == protocol::ErrorCode::not_coordinator ||
           code == protocol::ErrorCode::coordinator_not_available ||
           code == protocol::ErrorCode::coordinator_load_in_progress;
  }

  // The partition-level errors that mean "the leader moved or is not known here": mark the
  // topic's metadata stale (invalidate_metadata()), find the leader again and retry there.
  // NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION,
  // REPLICA_NOT_AVAILABLE, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, KAFKA_STORAGE_ERROR (the
  // leader's log directory failed) and OFFSET_NOT_AVAILABLE (a new leader not caught up yet).
  // The producer and the consumer both decide with this.
  static bool is_leader_error(protocol::ErrorCode code) noexcept;

  // Closes every connection; pending requests fail with NETWORK_EXCEPTION.
  void close();

 private:
  struct Backoff {
    uint64_t delay_ms = 0;       // 0: the last attempt worked
    uint64_t not_before_ms = 0;  // no new connection before this loop time
    std::unique_ptr<UvTimer> timer;
    std::vector<std::function<void()>> waiting;
  };
  struct MetadataWaiter {
    std::string topic;
    std::function<void(KafkaResult<TopicMetadata>)> done;
  };

  Connection& bootstrap();
  // A live connection to a known node (the bootstrap one when the address is the same).
  Connection& connection(NodeId node);
  // Makes sure `node` is in brokers_, fetching Metadata when it is not.
  void with_node(NodeId node, std::function<void(std::optional<KafkaError>)> then);
  // The connection to `node` (nullopt: the bootstrap broker), after the reconnect backoff when
  // the current one has failed.
  void with_connection(std::optional<NodeId> node,
                       std::function<void(KafkaResult<Connection*>)> then);
  void after_backoff(const std::string& address, bool failed, std::function<void()> then);
  // Counts a failure of `address`: its next connection waits the next, longer backoff.
  void note_failure(const std::string& address);
  // After a failed bootstrap connection: the next address of the list becomes the bootstrap one.
  void rotate_bootstrap();
  void connected(const std::string& address);
  // Sends `req` to `node` (nullopt: the bootstrap broker) once its connection is usable.
  template <protocol::ApiKey K>
  void send_via(std::optional<NodeId> node, typename protocol::Messages<K>::Request req,
                Callback<K> done) {
    with_connection(node, [this, req = std::move(req),
                           done = std::move(done)](KafkaResult<Connection*> c) mutable {
      if (!c) {
        done(std::move(c).error());
        return;
      }
      (*c)->template send<K>(std::move(req), settle<K>(**c, std::move(done)));
    });
  }
  // Wraps `done` so that any answer from the broker resets its reconnect backoff.
  template <protocol::ApiKey K>
  Callback<K> settle(const Connection& c, Callback<K> done) {
    return [this, address = c.address(),
            done = std::move(done)](KafkaResult<typename protocol::Messages<K>::Response> r) {
      if (r || r.error().from_broker()) connected(address);
      done(std::move(r));
    };
  }
  void absorb(const protocol::MetadataResponse& r);
  void refresh_metadata();
  void answer_waiters(const std::set<std::string>& asked, const std::optional<KafkaError>& error);

  uv_loop_t* loop_;
  std::vector<BrokerAddress> bootstrap_addresses_;  // never empty
  size_t bootstrap_index_ = 0;
  ConnectionOptions options_;
  ClientOptions client_options_;
  std::unique_ptr<Connection> bootstrap_;
  std::map<NodeId, BrokerAddress> brokers_;
  std::map<NodeId, std::unique_ptr<Connection>> connections_;
  std::map<std::string, NodeId> coordinators_;
  std::map<std::string, Backoff> backoff_;  // by host:port
  std::minstd_rand jitter_;
  // The metadata cache.
  std::map<std::string, TopicMetadata> topics_;
  std::set<std::string> stale_;
  std::set<std::string> wanted_;  // every topic asked about; each refresh asks for all of them
  uint64_t metadata_at_ms_ = 0;   // loop time of the last cache refresh
  bool metadata_in_flight_ = false;
  std::set<std::string> asked_;  // topics of the request in flight
  std::vector<MetadataWaiter> waiters_;
};

}  // namespace ferry::client
