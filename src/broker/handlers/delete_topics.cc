// DeleteTopics (key 20). Parked fetches are answered first, so none waits on a log that
// is going away.
#include <memory>

#include "broker/api_table.h"
#include "broker/broker.h"
#include "broker/handlers/fan_out.h"
#include "protocol/messages/topics.h"

namespace ferry::broker {

void handle_delete_topics(Broker& b, Request&& r) {
  using Response = protocol::DeleteTopicsResponse;
  protocol::DeleteTopicsRequest req;
  if (!decode_body(r, req)) return;
  auto st = fan_out<Response>(std::move(r), req.topic_names.size(), [&](Response& resp) {
    for (const auto& name : req.topic_names) resp.responses.push_back({name, 0});
  });
  if (!st) return;
  b.fetch_waiters().complete_all();
  for (size_t i = 0; i < req.topic_names.size(); ++i) {
    b.topics().remove(req.topic_names[i],
                      [&b, name = req.topic_names[i],
                       done = item_done(st, &Response::responses, i)](const KafkaError& e) {
                        // The store deleted the topic's committed offsets with it.
                        if (e.ok()) b.groups().forget_topic(name);
                        done(e);
                      });
  }
}

}  // namespace ferry::broker
