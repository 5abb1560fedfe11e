// DeleteTopics (key 20). Parked fetches are answered first, so none waits on a log that
// is going away.
#include <memory>

#include "broker/api_table.h"
#include "broker/broker.h"
#include "protocol/messages/topics.h"

namespace ferry::broker {
namespace {

struct DeleteState {
  Request request;
  protocol::DeleteTopicsResponse response;
  size_t remaining = 0;
};

}  // namespace

void handle_delete_topics(Broker& b, Request&& r) {
  auto st = std::make_shared<DeleteState>();
  st->request = std::move(r);
  protocol::DeleteTopicsRequest req;
  if (!decode_body(st->request, req)) return;
  st->remaining = req.topic_names.size();
  for (const auto& name : req.topic_names) st->response.responses.push_back({name, 0});
  if (st->remaining == 0) {
    respond(st->request, st->response);
    return;
  }
  b.fetch_waiters().complete_all();
  for (size_t i = 0; i < req.topic_names.size(); ++i) {
    b.topics().remove(req.topic_names[i], [&b, st, i](const KafkaError& e) {
      st->response.responses[i].error_code = e.wire();
      // The store deleted the topic's committed offsets with it.
      if (e.ok()) b.groups().forget_topic(st->response.responses[i].name);
      if (--st->remaining == 0) respond(st->request, st->response);
    });
  }
}

}  // namespace ferry::broker
