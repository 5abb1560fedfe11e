// send_to_leader_if: send a request to a partition's leader only if the caller admits that
// broker — the mirror keeps each partition's pipelined Produce requests on one broker.
//
// Why: with several requests in flight, a batch sent to a new leader while its predecessor is
// still on its way to the old one can land without that predecessor (the old leader refuses
// it). Kafka's sequence check refuses such a batch too, but a target that checks no sequences
// (librdkafka's mock cluster for non-transactional producers) would keep the hole. The mirror
// admits a broker only while its requests still in flight went to that same broker and none of
// the partition's requests has failed yet (a request whose leader was looked up while an
// earlier one failed would otherwise still go out).
//
// Threading: the client's loop thread, like client::Client.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "client/client.h"

namespace ferry::mirror {

// Looks up the leader of topic/partition (client::Client::leader) and asks `admit(node)`; if it
// returns true, sends `req` there and `done` gets the answer (a failed connection or timeout
// marks the topic's metadata stale, as send_to_leader does). If it returns false, nothing is
// sent and `done` is not called: `admit` has dealt with the request. A failed leader lookup goes
// to `done` as its error.
template <protocol::ApiKey K>
void send_to_leader_if(client::Client& c, const std::string& topic, int32_t partition,
                       typename protocol::Messages<K>::Request req,
                       std::function<bool(NodeId)> admit, client::Client::Callback<K> done) {
  c.leader(topic, partition,
           [&c, topic, req = std::move(req), admit = std::move(admit),
            done = std::move(done)](client::KafkaResult<NodeId> node) mutable {
             if (!node) {
               done(std::move(node).error());
               return;
             }
             if (!admit(*node)) return;
             c.send_to_node<K>(
                 *node, std::move(req),
                 [&c, topic, done = std::move(done)](
                     client::KafkaResult<typename protocol::Messages<K>::Response> r) {
                   if (!r && !r.error().from_broker()) c.invalidate_metadata(topic);
                   done(std::move(r));
                 });
           });
}

}  // namespace ferry::mirror
