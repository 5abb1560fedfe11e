// Produce (key 0): per partition validation and append (partition_append.h), answered
// after the write (acks=1), after it is durable (acks=all), or not at all (acks=0).
//
// acks=0: no response is sent; if a partition fails, the connection is closed instead, which is
// how Kafka tells such a producer to refresh its metadata.
#include "protocol/messages/produce.h"

#include <memory>

#include "broker/api_table.h"
#include "broker/broker.h"
#include "broker/partition_append.h"

namespace ferry::broker {
namespace {

struct ProduceState {
  Request request;
  protocol::ProduceResponse response;
  size_t remaining = 0;
  bool acks_zero = false;
  bool failed = false;

  void finish() {
    if (acks_zero) {
      if (failed) {
        request.slot.close_connection("acks=0 produce failed");
      } else {
        request.slot.no_response();
      }
      return;
    }
    respond(request, response);
  }
};

}  // namespace

void handle_produce(Broker& b, Request&& r) {
  auto st = std::make_shared<ProduceState>();
  st->request = std::move(r);
  protocol::ProduceRequest req;
  if (!decode_body(st->request, req)) return;
  const int16_t acks = req.acks;
  st->acks_zero = acks == 0;
  const bool valid_acks = acks == 0 || acks == 1 || acks == -1;
  const int16_t version = st->request.version();

  // Response skeleton in request order; also counts the partitions.
  for (const auto& t : req.topic_data) {
    auto& rt = st->response.responses.emplace_back();
    rt.name = t.name;
    for (const auto& p : t.partition_data) {
      auto& rp = rt.partition_responses.emplace_back();
      rp.index = p.index;
      rp.base_offset = -1;
      ++st->remaining;
    }
  }
  if (st->remaining == 0) {
    st->finish();
    return;
  }
  std::byte* frame_base = st->request.frame.data();
  const std::byte* frame_cbase = st->request.frame.data();
  for (size_t ti = 0; ti < req.topic_data.size(); ++ti) {
    const auto& t = req.topic_data[ti];
    for (size_t pi = 0; pi < t.partition_data.size(); ++pi) {
      const auto& p = t.partition_data[pi];
      // Counted for /metrics once appended: the records and bytes as the client sent them.
      const uint64_t records_in = p.records.data ? count_records(*p.records.data) : 0;
      const uint64_t bytes_in = p.records.data ? p.records.data->size() : 0;
      auto complete = [st, ti, pi, records_in, bytes_in, m = b.shared_metrics()](AppendOutcome o) {
        auto& rp = st->response.responses[ti].partition_responses[pi];
        rp.error_code = o.error.wire();
        st->request.note_error(rp.error_code);
        if (!o.error.ok()) {
          st->failed = true;
          rp.error_message = o.error.wire_message();
        } else {
          TopicTraffic& traffic = m->topic(st->response.responses[ti].name);
          traffic.records_in += records_in;
          traffic.bytes_in += bytes_in;
        }
        rp.base_offset = o.base_offset.value();
        rp.log_append_time_ms = o.log_append_time_ms;
        rp.log_start_offset = o.log_start_offset.value();
        if (--st->remaining == 0) st->finish();
      };
      if (!valid_acks) {
        AppendOutcome o;
        o.error = {ErrorCode::invalid_required_acks, "acks must be -1, 0 or 1"};
        complete(std::move(o));
        continue;
      }
      if (!p.records.data || p.records.data->empty()) {
        AppendOutcome o;
        o.error = {ErrorCode::invalid_record, "no records for the partition"};
        complete(std::move(o));
        continue;
      }
      // The records view the request frame, which this handler owns: rewriting them in place
      // (base offsets, LogAppendTime) needs no copy.
      const size_t at = static_cast<size_t>(p.records.data->data() - frame_cbase);
      std::span<std::byte> records(frame_base + at, p.records.data->size());
      append_partition(b, t.name, p.index, records, version, acks == -1, std::move(complete));
    }
  }
}

}  // namespace ferry::broker
