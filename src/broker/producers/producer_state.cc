// Idempotent-producer bookkeeping of one partition. See producer_state.h.
#include "broker/producers/producer_state.h"

#include <algorithm>
#include <limits>

#include "common/bytes.h"

namespace ferry::broker {
namespace {

constexpr int32_t kMaxSequence = std::numeric_limits<int32_t>::max();
constexpr size_t kEncodedBatchBytes = 28;

// Whether `next` directly follows `last` in a producer's sequence space.
bool follows(int32_t last, int32_t next) {
  return last == kMaxSequence ? next == 0 : next == last + 1;
}

std::string describe(const ProducerBatch& b) {
  return "producer " + std::to_string(b.producer_id) + " epoch " + std::to_string(b.epoch) +
         " sequence " + std::to_string(b.base_sequence) + ".." + std::to_string(b.last_sequence());
}

std::string encode_batches(const std::vector<BatchMetadata>& batches) {
  std::string out(batches.size() * kEncodedBatchBytes, '\0');
  auto* p = reinterpret_cast<std::byte*>(out.data());
  for (const BatchMetadata& m : batches) {
    store_i32(p, m.first_sequence);
    store_i32(p + 4, m.last_sequence);
    store_i64(p + 8, m.first_offset.value());
    store_i32(p + 16, static_cast<int32_t>(m.last_offset.value() - m.first_offset.value()));
    store_i64(p + 20, m.timestamp_ms);
    p += kEncodedBatchBytes;
  }
  return out;
}

bool decode_batches(const std::string& blob, std::vector<BatchMetadata>& out) {
  if (blob.size() % kEncodedBatchBytes != 0 ||
      blob.size() > kProducerBatchesRetained * kEncodedBatchBytes) {
    return false;
  }
  const auto* p = reinterpret_cast<const std::byte*>(blob.data());
  for (size_t i = 0; i < blob.size() / kEncodedBatchBytes; ++i, p += kEncodedBatchBytes) {
    BatchMetadata m;
    m.first_sequence = load_i32(p);
    m.last_sequence = load_i32(p + 4);
    m.first_offset = Offset(load_i64(p + 8));
    const int32_t delta = load_i32(p + 16);
    if (delta < 0 || m.first_offset.value() < 0) return false;
    m.last_offset = m.first_offset + delta;
    m.timestamp_ms = load_i64(p + 20);
    out.push_back(m);
  }
  return true;
}

}  // namespace

int32_t ProducerBatch::last_sequence() const noexcept {
  if (last_offset_delta <= 0) return base_sequence;
  if (base_sequence > kMaxSequence - last_offset_delta) {
    return last_offset_delta - (kMaxSequence - base_sequence) - 1;
  }
  return base_sequence + last_offset_delta;
}

SequenceCheck PartitionProducers::check(const ProducerBatch& b, bool issued_here) const {
  SequenceCheck out;
  const ProducerEntry* e = find(b.producer_id);
  if (e == nullptr) {
    if (!issued_here) {
      out.error = {ErrorCode::unknown_producer_id,
                   "Producer id " + std::to_string(b.producer_id) +
                       " was not handed out by this broker (InitProducerId first)"};
    }
    return out;
  }
  if (b.epoch < e->epoch) {
    out.error = {ErrorCode::invalid_producer_epoch,
                 describe(b) + ": the producer's current epoch is " + std::to_string(e->epoch)};
    return out;
  }
  if (b.epoch == e->epoch) {
    const int32_t last = b.last_sequence();
    for (const BatchMetadata& m : e->batches) {
      if (m.first_sequence == b.base_sequence && m.last_sequence == last) {
        out.duplicate = m;
        return out;
      }
    }
    const int32_t current = e->batches.empty() ? -1 : e->batches.back().last_sequence;
    if (!e->batches.empty() && !follows(current, b.base_sequence)) {
      out.error = {ErrorCode::out_of_order_sequence_number,
                   describe(b) + ": expected sequence " +
                       std::to_string(current == kMaxSequence ? 0 : current + 1)};
    }
    return out;
  }
  if (b.base_sequence != 0) {
    out.error = {ErrorCode::out_of_order_sequence_number,
                 describe(b) + ": a new epoch must start at sequence 0"};
  }
  return out;
}

void PartitionProducers::record(const ProducerBatch& b, Offset first, Offset last,
                                int64_t timestamp_ms, int64_t now_ms) {
  ProducerEntry& e = producers_[b.producer_id];
  if (b.epoch != e.epoch) {
    e.epoch = b.epoch;
    e.batches.clear();
  }
  if (e.batches.size() == kProducerBatchesRetained) e.batches.erase(e.batches.begin());
  if (e.batches.capacity() < kProducerBatchesRetained) e.batches.reserve(kProducerBatchesRetained);
  e.batches.push_back({b.base_sequence, b.last_sequence(), first, last, timestamp_ms});
  e.last_append_ms = std::max(e.last_append_ms, now_ms);
  changed_ = true;
}

size_t PartitionProducers::expire(int64_t now_ms, int64_t expiration_ms) {
  const size_t removed = std::erase_if(producers_, [&](const auto& kv) {
    return now_ms - kv.second.last_append_ms >= expiration_ms;
  });
  if (removed > 0) changed_ = true;
  return removed;
}

const ProducerEntry* PartitionProducers::find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

std::vector<meta::ProducerStateRecord> PartitionProducers::to_records(const std::string& topic,
                                                                      PartitionId partition) const {
  std::vector<meta::ProducerStateRecord> out;
  out.reserve(producers_.size());
  for (const auto& [id, e] : producers_) {
    meta::ProducerStateRecord r;
    r.topic = topic;
    r.partition = partition;
    r.producer_id = ProducerId(id);
    r.producer_epoch = e.epoch;
    r.last_sequence = e.batches.empty() ? -1 : e.batches.back().last_sequence;
    r.last_offset = e.batches.empty() ? Offset(-1) : e.batches.back().last_offset;
    r.timestamp_ms = e.last_append_ms;
    r.batches = encode_batches(e.batches);
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.producer_id < b.producer_id; });
  return out;
}

Status PartitionProducers::load(const std::vector<meta::ProducerStateRecord>& rows) {
  producers_.clear();
  std::string skipped;
  for (const auto& r : rows) {
    ProducerEntry e;
    e.epoch = r.producer_epoch;
    e.last_append_ms = r.timestamp_ms;
    if (r.producer_id.value() < 0 || !decode_batches(r.batches, e.batches) || e.batches.empty()) {
      skipped += (skipped.empty() ? "" : ", ") + std::to_string(r.producer_id.value());
      continue;
    }
    producers_[r.producer_id.value()] = std::move(e);
  }
  changed_ = false;
  if (!skipped.empty()) {
    return Error(Errc::corrupt, "unreadable producer state skipped for producer ids " + skipped);
  }
  return ok_status();
}

void PartitionProducers::clear() {
  if (!producers_.empty()) changed_ = true;
  producers_.clear();
}

}  // namespace ferry::broker
