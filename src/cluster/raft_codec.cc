// Encoding and decoding of the vote frames and coalesced fetches. See raft_codec.h.
#include "cluster/raft_codec.h"

#include <cstring>
#include <optional>
#include <type_traits>

#include "common/bytes.h"

namespace ferry::cluster {
namespace {

// Appends big-endian values to a buffer.
class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<std::byte>(v)); }
  void u16(uint16_t v) { store_be16(grow(2), v); }
  void u32(uint32_t v) { store_be32(grow(4), v); }
  void i32(int32_t v) { store_i32(grow(4), v); }
  void i64(int64_t v) { store_i64(grow(8), v); }
  void bytes(std::span<const std::byte> b) {
    if (!b.empty()) std::memcpy(grow(b.size()), b.data(), b.size());
  }
  void group(const GroupId& g) {
    // Names over the limit are cut (encoders only see validated topic names).
    const size_t n = std::min(g.topic.size(), kMaxTopicNameBytes);
    u16(static_cast<uint16_t>(n));
    bytes(std::as_bytes(std::span<const char>(g.topic.data(), n)));
    i32(g.partition.value());
  }
  Buffer take() { return std::move(out_); }

 private:
  std::byte* grow(size_t n) {
    const size_t at = out_.size();
    out_.resize(at + n);
    return out_.data() + at;
  }
  Buffer out_;
};

// Reads big-endian values; the first short read or bad value sticks as the error.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> in) : in_(in) {}

  bool ok() const { return !error_; }
  size_t left() const { return in_.size() - pos_; }
  void fail(std::string what) {
    if (!error_) error_ = std::move(what);
  }
  Error error() const {
    return Error(code_, error_.value_or("malformed") + " at byte " + std::to_string(pos_));
  }

  uint8_t u8() { return take(1) ? static_cast<uint8_t>(in_[pos_ - 1]) : 0; }
  uint16_t u16() { return take(2) ? load_be16(in_.data() + pos_ - 2) : 0; }
  uint32_t u32() { return take(4) ? load_be32(in_.data() + pos_ - 4) : 0; }
  int32_t i32() { return take(4) ? load_i32(in_.data() + pos_ - 4) : 0; }
  int64_t i64() { return take(8) ? load_i64(in_.data() + pos_ - 8) : 0; }
  std::span<const std::byte> bytes(size_t n) {
    if (!take(n)) return {};
    return in_.subspan(pos_ - n, n);
  }

  // The format version; anything else than ours is refused as unsupported.
  void version() {
    const uint16_t v = u16();
    if (ok() && v != kRaftCodecVersion) {
      code_ = Errc::unsupported;
      fail("format version " + std::to_string(v) + " (this node reads " +
           std::to_string(kRaftCodecVersion) + ")");
    }
  }
  // A count of entries each at least `min_entry` bytes long.
  uint32_t count(size_t min_entry) {
    const uint32_t n = u32();
    if (ok() && uint64_t{n} * min_entry > left()) fail("count " + std::to_string(n) + " too large");
    return ok() ? n : 0;
  }
  GroupId group() {
    GroupId g;
    const uint16_t n = u16();
    if (ok() && (n == 0 || n > kMaxTopicNameBytes)) {
      fail("topic name length " + std::to_string(n));
      return g;
    }
    const std::span<const std::byte> name = bytes(n);
    if (!ok()) return g;
    g.topic.assign(reinterpret_cast<const char*>(name.data()), name.size());
    g.partition = PartitionId(i32());
    if (ok() && g.partition.value() < 0) fail("negative partition");
    return g;
  }
  // Flags with only the bits of `known` allowed.
  uint8_t flags(uint8_t known) {
    const uint8_t f = u8();
    if (ok() && (f & ~known) != 0) fail("unknown flag bits");
    return f;
  }
  void end() {
    if (ok() && left() != 0) fail(std::to_string(left()) + " trailing bytes");
  }

 private:
  bool take(size_t n) {
    if (error_) return false;
    if (left() < n) {
      fail("truncated");
      return false;
    }
    pos_ += n;
    return true;
  }
  std::span<const std::byte> in_;
  size_t pos_ = 0;
  Errc code_ = Errc::corrupt;
  std::optional<std::string> error_;
};

constexpr size_t kMinGroup = 2 + 1 + 4;

enum class Tag : uint8_t { vote_request = 0, vote_response = 1, begin_epoch = 2, timeout_now = 3 };

void encode_message(Writer& w, const RaftMessage& m) {
  std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, VoteRequest>) {
          w.u8(static_cast<uint8_t>(Tag::vote_request));
          w.i32(msg.epoch.value());
          w.i32(msg.candidate.value());
          w.i32(msg.last_epoch.value());
          w.i64(msg.end_offset.value());
          w.u8(static_cast<uint8_t>((msg.pre_vote ? 1 : 0) | (msg.transfer ? 2 : 0)));
        } else if constexpr (std::is_same_v<T, VoteResponse>) {
          w.u8(static_cast<uint8_t>(Tag::vote_response));
          w.i32(msg.epoch.value());
          w.i32(msg.voter.value());
          w.u8(static_cast<uint8_t>((msg.granted ? 1 : 0) | (msg.pre_vote ? 2 : 0)));
        } else if constexpr (std::is_same_v<T, BeginEpoch>) {
          w.u8(static_cast<uint8_t>(Tag::begin_epoch));
          w.i32(msg.epoch.value());
          w.i32(msg.leader.value());
        } else {
          static_assert(std::is_same_v<T, TimeoutNow>);
          w.u8(static_cast<uint8_t>(Tag::timeout_now));
          w.i32(msg.epoch.value());
          w.i32(msg.leader.value());
        }
      },
      m);
}

RaftMessage decode_message(Reader& r) {
  const uint8_t tag = r.u8();
  switch (static_cast<Tag>(tag)) {
    case Tag::vote_request: {
      VoteRequest m;
      m.epoch = LeaderEpoch(r.i32());
      m.candidate = NodeId(r.i32());
      m.last_epoch = LeaderEpoch(r.i32());
      m.end_offset = Offset(r.i64());
      const uint8_t f = r.flags(3);
      m.pre_vote = (f & 1) != 0;
      m.transfer = (f & 2) != 0;
      return m;
    }
    case Tag::vote_response: {
      VoteResponse m;
      m.epoch = LeaderEpoch(r.i32());
      m.voter = NodeId(r.i32());
      const uint8_t f = r.flags(3);
      m.granted = (f & 1) != 0;
      m.pre_vote = (f & 2) != 0;
      return m;
    }
    case Tag::begin_epoch: {
      BeginEpoch m;
      m.epoch = LeaderEpoch(r.i32());
      m.leader = NodeId(r.i32());
      return m;
    }
    case Tag::timeout_now: {
      TimeoutNow m;
      m.epoch = LeaderEpoch(r.i32());
      m.leader = NodeId(r.i32());
      return m;
    }
  }
  if (r.ok()) r.fail("unknown message tag " + std::to_string(tag));
  return BeginEpoch{};
}

}  // namespace

Buffer encode_vote_frame(const VoteFrame& frame) {
  Writer w;
  w.u16(kRaftCodecVersion);
  w.u32(static_cast<uint32_t>(frame.messages.size()));
  for (const GroupMessage& m : frame.messages) {
    w.group(m.group);
    encode_message(w, m.message);
  }
  return w.take();
}

Result<VoteFrame> decode_vote_frame(std::span<const std::byte> bytes) {
  Reader r(bytes);
  r.version();
  VoteFrame frame;
  const uint32_t n = r.count(kMinGroup + 1 + 8);
  frame.messages.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    GroupId g = r.group();
    RaftMessage m = decode_message(r);
    frame.messages.push_back(GroupMessage{std::move(g), m});
  }
  r.end();
  if (!r.ok()) return r.error();
  return frame;
}

Buffer encode_fetch_request(const FetchRequest& request) {
  Writer w;
  w.u16(kRaftCodecVersion);
  w.i32(request.replica.value());
  w.i32(request.max_wait_ms);
  w.u32(static_cast<uint32_t>(request.fetches.size()));
  for (const GroupFetch& f : request.fetches) {
    w.group(f.group);
    w.i32(f.position.epoch.value());
    w.i32(f.position.replica.value());
    w.i64(f.position.fetch_offset.value());
    w.i32(f.position.last_fetched_epoch.value());
    w.i64(f.position.durable_offset.value());
  }
  return w.take();
}

Result<FetchRequest> decode_fetch_request(std::span<const std::byte> bytes) {
  Reader r(bytes);
  r.version();
  FetchRequest out;
  out.replica = NodeId(r.i32());
  out.max_wait_ms = r.i32();
  if (r.ok() && out.max_wait_ms < 0) r.fail("negative max_wait_ms");
  const uint32_t n = r.count(kMinGroup + 28);
  out.fetches.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    GroupFetch f;
    f.group = r.group();
    f.position.epoch = LeaderEpoch(r.i32());
    f.position.replica = NodeId(r.i32());
    f.position.fetch_offset = Offset(r.i64());
    f.position.last_fetched_epoch = LeaderEpoch(r.i32());
    f.position.durable_offset = Offset(r.i64());
    out.fetches.push_back(std::move(f));
  }
  r.end();
  if (!r.ok()) return r.error();
  return out;
}

Buffer encode_fetch_response(const FetchResponse& response) {
  Writer w;
  w.u16(kRaftCodecVersion);
  w.u32(static_cast<uint32_t>(response.answers.size()));
  for (const GroupAnswer& a : response.answers) {
    w.group(a.group);
    w.u8(static_cast<uint8_t>(a.answer.status));
    w.i32(a.answer.epoch.value());
    w.i32(a.answer.leader.value());
    w.u8(a.answer.diverging ? 1 : 0);
    if (a.answer.diverging) {
      w.i32(a.answer.diverging->epoch.value());
      w.i64(a.answer.diverging->end_offset.value());
    }
    w.i64(a.answer.high_watermark.value());
    w.i64(a.answer.log_start_offset.value());
    w.u32(static_cast<uint32_t>(a.records.size()));
    w.bytes(a.records);
  }
  return w.take();
}

Result<FetchResponse> decode_fetch_response(std::span<const std::byte> bytes) {
  Reader r(bytes);
  r.version();
  FetchResponse out;
  const uint32_t n = r.count(kMinGroup + 30);
  out.answers.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    GroupAnswer a;
    a.group = r.group();
    const uint8_t status = r.u8();
    if (r.ok() && status > static_cast<uint8_t>(FetchStatus::unknown_leader_epoch)) {
      r.fail("unknown fetch status " + std::to_string(status));
    }
    a.answer.status = static_cast<FetchStatus>(status);
    a.answer.epoch = LeaderEpoch(r.i32());
    a.answer.leader = NodeId(r.i32());
    const uint8_t has_diverging = r.u8();
    if (r.ok() && has_diverging > 1) r.fail("bad diverging marker");
    if (has_diverging == 1) {
      EpochEnd d;
      d.epoch = LeaderEpoch(r.i32());
      d.end_offset = Offset(r.i64());
      a.answer.diverging = d;
    }
    a.answer.high_watermark = Offset(r.i64());
    a.answer.log_start_offset = Offset(r.i64());
    const uint32_t size = r.u32();
    const std::span<const std::byte> records = r.bytes(size);
    if (r.ok()) {
      a.records.resize(records.size());
      if (!records.empty()) std::memcpy(a.records.data(), records.data(), records.size());
    }
    out.answers.push_back(std::move(a));
  }
  r.end();
  if (!r.ok()) return r.error();
  return out;
}

}  // namespace ferry::cluster
