// Fetch (key 1): sessionless full fetches with long-poll.
//
// Per partition the log is read from fetch_offset, bounded by partition_max_bytes and by what is
// left of the request's max_bytes (v3+); the first batch found is returned whole even when it is
// larger, so consumers always progress (Kafka's rule). Reads stop at the partition's high
// watermark (partition.h; on a single node the log end). Versions 0-3 predate record batches: their
// data is down-converted to magic 0 (v0-1) or magic 1 (v2-3) message sets; zstd data cannot be
// given to clients older than v10 and is answered UNSUPPORTED_COMPRESSION_TYPE, as Kafka does.
//
// Fewer than min_bytes available and max_wait_ms > 0: the fetch parks in FetchWaiters and is
// rebuilt from scratch when appends bring min_bytes or the wait ends. Errors answer at once.
// Batches a consumer reads nothing from (record-less: a new leader's epoch-start batch; control
// batches, whose markers clients skip) count as no data while they are all that lies between
// the fetch offset and the high watermark: such a fetch waits as one at the log end does, and
// when the wait ends they are sent, so every client still steps over them to the log end (after
// one wait), and with a later batch they go out at once. kafkajs 2.2.4 does not move past a
// record-less batch that ends what it was sent and asks for the same offset again; without the
// wait it did so hundreds of times a second (tests/compat/test_epoch_start.py).
// Fetch sessions (KIP-227): every response carries session id 0, i.e. no session was created, so
// clients keep sending full fetches; a request naming a session gets FETCH_SESSION_ID_NOT_FOUND.
//
// Every batch read is checked (framing and CRC32C) before it is sent: a batch damaged on disk is
// never handed out. The batches before it are served; a fetch that starts at it is answered
// CORRUPT_MESSAGE for that partition (docs/protocol.md says why), and the segment file and
// byte position are logged at ERROR, once per position and minute.
#include "protocol/messages/fetch.h"

#include <algorithm>
#include <cinttypes>
#include <memory>
#include <string>

#include "broker/api_table.h"
#include "broker/broker.h"
#include "broker/leader_epoch_check.h"
#include "common/log.h"
#include "protocol/batch_validator.h"
#include "protocol/legacy_message_set.h"
#include "protocol/record_batch.h"

namespace ferry::broker {
namespace {

// Logs a damaged batch at ERROR, rate-limited per position (`where` names the segment file and
// byte position and is the limiter's cause), so a consumer retrying the same offset costs a few
// lines, each counting the reads refused in between.
void report_damaged_batch(const std::string& where, int64_t offset, const std::string& why) {
  FERRY_LOG_RATELIMITED(error, "fetch", where.c_str(),
                        "%s: damaged record batch (from offset %" PRId64
                        "): %s; not served, fetches from it get CORRUPT_MESSAGE",
                        where.c_str(), offset, why.c_str());
}

// Cuts `read` to its intact front (whole batches with a matching CRC32C) and reports the first
// damaged batch. Returns false when nothing at the start is intact.
bool keep_intact_batches(const Partition& log, storage::ReadResult& read, int64_t fetch_offset) {
  const auto intact = protocol::intact_prefix(read.data);
  if (!intact.fault) return true;
  // The segment and file position of the first damaged byte.
  std::string path = log.dir();
  uint64_t position = 0;
  for (const auto& src : read.sources) {
    if (src.data_offset > intact.bytes) break;
    path = log.segment_path(src.segment);
    position = src.position + (intact.bytes - src.data_offset);
  }
  int64_t offset = fetch_offset;
  if (intact.bytes > 0) {
    // The batch after the last intact one starts at that one's next offset.
    size_t pos = 0;
    while (pos < intact.bytes) {
      const auto size =
          protocol::declared_batch_size(std::span<const std::byte>(read.data).subspan(pos));
      const protocol::BatchView v(std::span<const std::byte>(read.data).subspan(pos, *size));
      offset = v.next_offset().value();
      pos += *size;
    }
  }
  report_damaged_batch(path + " at byte " + std::to_string(position), offset, *intact.fault);
  read.data.resize(intact.bytes);
  return intact.bytes > 0;
}

struct FetchState {
  Request request;
  protocol::FetchRequest req;
};

bool has_zstd(std::span<const std::byte> data) {
  size_t pos = 0;
  while (pos < data.size()) {
    auto size = protocol::declared_batch_size(data.subspan(pos));
    if (!size || *size > data.size() - pos) break;
    const protocol::BatchView v(data.subspan(pos, *size));
    if (v.compression() == protocol::Compression::zstd) return true;
    pos += *size;
  }
  return false;
}

// True when no batch in `data` (whole batches, checked) holds a record a consumer reads, and the
// last one ends at `high_watermark`: only record-less or control batches up to the log end.
bool only_skipped_batches_to(std::span<const std::byte> data, int64_t high_watermark) {
  size_t pos = 0;
  int64_t next = -1;
  while (pos < data.size()) {
    auto size = protocol::declared_batch_size(data.subspan(pos));
    if (!size || *size > data.size() - pos) return false;
    const protocol::BatchView v(data.subspan(pos, *size));
    if (v.record_count() != 0 && !v.is_control()) return false;
    next = v.next_offset().value();
    pos += *size;
  }
  return next == high_watermark;
}

void build(Broker& b, const std::shared_ptr<FetchState>& st, bool may_park) {
  const auto& req = st->req;
  const int16_t version = st->request.version();
  protocol::FetchResponse resp;
  if (version >= 7 && req.session_id != 0) {
    resp.error_code = static_cast<int16_t>(ErrorCode::fetch_session_id_not_found);
    respond(st->request, resp);
    return;
  }
  // The record sets read, kept alive until the response has been written (they are sent from
  // here, not copied into the response).
  auto buffers = std::make_shared<std::vector<std::vector<std::byte>>>();
  // The request's max_bytes (v3+), never more than the broker's fetch.max.bytes.
  size_t budget = static_cast<size_t>(std::max(b.config().fetch_max_bytes, 0));
  if (version >= 3) budget = std::min(budget, static_cast<size_t>(std::max(req.max_bytes, 0)));
  size_t total = 0;
  size_t ready = 0;  // bytes of `total` that are not only skipped batches ending at the HW
  bool any_error = false;
  for (const auto& t : req.topics) {
    auto& rt = resp.responses.emplace_back();
    rt.topic = t.topic;
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p.partition;
      rp.records.data = std::span<const std::byte>();  // empty, not null, as Kafka sends
      if (version >= 4) {
        if (req.isolation_level == 1) {
          rp.aborted_transactions.emplace();
        } else {
          rp.aborted_transactions.reset();
        }
      }
      auto part = b.topics().partition(t.topic, p.partition);
      auto set_error = [&](ErrorCode c) {
        rp.error_code = static_cast<int16_t>(c);
        rp.high_watermark = -1;
        rp.last_stable_offset = -1;
        rp.log_start_offset = -1;
        any_error = true;
      };
      if (part == nullptr) {
        set_error(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      if (!part->is_leader()) {
        set_error(ErrorCode::not_leader_or_follower);
        continue;
      }
      if (auto e = check_current_leader_epoch(p.current_leader_epoch, part->leader_epoch())) {
        set_error(*e);
        continue;
      }
      const int64_t hw = part->high_watermark().value();
      rp.high_watermark = hw;
      rp.last_stable_offset = hw;
      rp.log_start_offset = part->log_start_offset().value();
      if (p.fetch_offset == hw) continue;  // nothing new yet
      if (p.fetch_offset < rp.log_start_offset || p.fetch_offset > hw) {
        rp.error_code = static_cast<int16_t>(ErrorCode::offset_out_of_range);
        any_error = true;
        continue;
      }
      const size_t part_max = static_cast<size_t>(std::max(p.partition_max_bytes, 0));
      size_t limit = std::min(part_max, budget);
      if (limit == 0 && total > 0) continue;  // the response is full
      limit = std::max<size_t>(limit, 1);     // the first batch comes whole anyway
      auto read = part->read(Offset(p.fetch_offset), limit);
      if (!read) {
        if (read.error().code() == Errc::corrupt) {
          // The message names the segment file and position.
          report_damaged_batch(read.error().message(), p.fetch_offset, "unreadable batch header");
        }
        auto e = to_kafka_error(read.error());
        rp.error_code = e.wire();
        any_error = true;
        continue;
      }
      if (!keep_intact_batches(*part, *read, p.fetch_offset)) {
        rp.error_code = static_cast<int16_t>(ErrorCode::corrupt_message);
        any_error = true;
        continue;
      }
      std::vector<std::byte> data = std::move(read->data);
      if (data.empty()) continue;
      const bool nothing_to_read = only_skipped_batches_to(data, hw);
      if (version < 10 && has_zstd(data)) {
        rp.error_code = static_cast<int16_t>(ErrorCode::unsupported_compression_type);
        any_error = true;
        continue;
      }
      if (version < 4) {
        const int8_t magic = version < 2 ? 0 : 1;
        // The partition limit caps the converted set (at least one message goes out).
        auto down = protocol::downconvert_batches(data, magic, limit, p.fetch_offset);
        if (!down) {
          auto e = to_kafka_error(down.error());
          rp.error_code = e.wire();
          any_error = true;
          continue;
        }
        data = std::move(*down);
      }
      total += data.size();
      if (!nothing_to_read) ready += data.size();
      budget -= std::min(budget, data.size());
      buffers->push_back(std::move(data));
      rp.records.data = std::span<const std::byte>(buffers->back());
    }
  }
  const auto min_bytes = static_cast<size_t>(std::max(req.min_bytes, 0));
  if (may_park && !any_error && ready < min_bytes && req.max_wait_ms > 0 && !b.stopping() &&
      st->request.slot.connected()) {
    std::vector<std::pair<std::string, int32_t>> parts;
    for (const auto& t : req.topics) {
      for (const auto& p : t.partitions) parts.emplace_back(t.topic, p.partition);
    }
    Broker* broker = &b;
    b.fetch_waiters().park(std::move(parts), min_bytes - ready,
                           static_cast<uint32_t>(req.max_wait_ms),
                           [broker, st] { build(*broker, st, false); });
    return;
  }
  // Counted for /metrics: what leaves, per topic, and the partitions' error codes.
  for (const auto& rt : resp.responses) {
    TopicTraffic* traffic = nullptr;
    for (const auto& rp : rt.partitions) {
      st->request.note_error(rp.error_code);
      if (!rp.records.data || rp.records.data->empty()) continue;
      if (!traffic) traffic = &b.metrics().topic(rt.topic);
      traffic->records_out += count_records(*rp.records.data);
      traffic->bytes_out += rp.records.data->size();
    }
  }
  respond_spliced(st->request, resp, std::move(buffers));
}

}  // namespace

void handle_fetch(Broker& b, Request&& r) {
  auto st = std::make_shared<FetchState>();
  st->request = std::move(r);
  if (!decode_body(st->request, st->req)) return;
  build(b, st, true);
}

}  // namespace ferry::broker
