// InitProducerId: producer ids for idempotent producers (ProducerRegistry). Transactions are not
// supported: a request with a transactional id gets UNSUPPORTED_VERSION, and neither the
// transaction APIs nor a transaction coordinator are advertised.
#include <memory>

#include "broker/api_table.h"
#include "broker/broker.h"
#include "common/log.h"
#include "protocol/messages/producer_id.h"

namespace ferry::broker {

void handle_init_producer_id(Broker& b, Request&& r) {
  protocol::InitProducerIdRequest req;
  if (!decode_body(r, req)) return;
  auto respond_with = [](Request& req_to, KafkaError e, ProducerIdAndEpoch id) {
    protocol::InitProducerIdResponse resp;
    resp.error_code = e.wire();
    resp.producer_id = id.id.value();
    resp.producer_epoch = id.epoch;
    respond(req_to, resp);
  };
  if (req.transactional_id) {
    FERRY_LOG(info, "producers",
              "client %s asked for transactional id \"%s\": transactions are not supported",
              r.header.client_id.value_or("-").c_str(), req.transactional_id->c_str());
    respond_with(r, {ErrorCode::unsupported_version}, {});
    return;
  }
  std::optional<ProducerIdAndEpoch> current;
  if (req.producer_id != -1 || req.producer_epoch != -1) {
    // KIP-360: both or neither.
    if (req.producer_id < 0 || req.producer_epoch < 0) {
      respond_with(r, {ErrorCode::invalid_request}, {});
      return;
    }
    current = ProducerIdAndEpoch{ProducerId(req.producer_id), req.producer_epoch};
  }
  auto shared = std::make_shared<Request>(std::move(r));
  b.producers().init_producer(current, [shared, respond_with](auto res) {
    if (!res) {
      respond_with(*shared, std::move(res).error(), {});
      return;
    }
    FERRY_LOG(info, "producers", "client %s is idempotent producer %lld, epoch %d",
              shared->header.client_id.value_or("-").c_str(),
              static_cast<long long>(res->id.value()), res->epoch);
    respond_with(*shared, {}, *res);
  });
}

}  // namespace ferry::broker
