// The link's non-Raft payloads. See cluster_codec.h.
#include "cluster/cluster_codec.h"

#include "common/bytes.h"

namespace ferry::cluster {
namespace {

constexpr uint16_t kVersion = 1;

class Out {
 public:
  explicit Out(Buffer& b) : b_(b) {}
  void u16(uint16_t v) { put(v, 2); }
  void u32(uint32_t v) { put(v, 4); }
  void i32(int32_t v) { put(static_cast<uint32_t>(v), 4); }
  void i64(int64_t v) {
    put(static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32), 4);
    put(static_cast<uint32_t>(static_cast<uint64_t>(v) & 0xffffffffu), 4);
  }
  void bytes(std::span<const std::byte> b) {
    u32(static_cast<uint32_t>(b.size()));
    b_.insert(b_.end(), b.begin(), b.end());
  }
  void str(const std::string& s) {
    u16(static_cast<uint16_t>(s.size()));
    for (char c : s) b_.push_back(static_cast<std::byte>(c));
  }

 private:
  void put(uint32_t v, int n) {
    for (int i = n - 1; i >= 0; --i) b_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  }
  Buffer& b_;
};

class In {
 public:
  explicit In(std::span<const std::byte> b) : b_(b) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == b_.size(); }
  uint32_t get(size_t n) {
    if (!ok_ || b_.size() - pos_ < n) {
      ok_ = false;
      return 0;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint32_t>(b_[pos_ + i]);
    pos_ += n;
    return v;
  }
  uint16_t u16() { return static_cast<uint16_t>(get(2)); }
  uint32_t u32() { return get(4); }
  int32_t i32() { return static_cast<int32_t>(get(4)); }
  // A count of elements of at least `min` bytes each, checked against what is left.
  uint32_t count(size_t min) {
    const uint32_t n = u32();
    if (ok_ && static_cast<uint64_t>(n) * min > b_.size() - pos_) ok_ = false;
    return ok_ ? n : 0;
  }
  int64_t i64() {
    const uint64_t hi = get(4);
    const uint64_t lo = get(4);
    return static_cast<int64_t>((hi << 32) | lo);
  }
  std::vector<std::byte> bytes() {
    const uint32_t n = u32();
    if (!ok_ || b_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::vector<std::byte> v(b_.begin() + static_cast<std::ptrdiff_t>(pos_),
                             b_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return v;
  }
  std::string str() {
    const uint16_t n = u16();
    if (!ok_ || b_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  std::span<const std::byte> b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

Error corrupt(const char* what) { return Error(Errc::corrupt, std::string(what) + ": malformed"); }

bool version_ok(In& in) { return in.u16() == kVersion && in.ok(); }

}  // namespace

Buffer encode_leaders(const std::vector<LeaderInfo>& leaders) {
  Buffer b;
  Out o(b);
  o.u16(kVersion);
  o.u32(static_cast<uint32_t>(leaders.size()));
  for (const auto& l : leaders) {
    o.str(l.group.topic);
    o.i32(l.group.partition.value());
    o.i32(l.epoch.value());
    o.i32(l.leader.value());
    o.u32(static_cast<uint32_t>(l.isr.size()));
    for (NodeId n : l.isr) o.i32(n.value());
  }
  return b;
}

Result<std::vector<LeaderInfo>> decode_leaders(std::span<const std::byte> bytes) {
  In in(bytes);
  if (!version_ok(in)) return corrupt("leaders");
  std::vector<LeaderInfo> out;
  const uint32_t n = in.count(18);
  for (uint32_t i = 0; i < n && in.ok(); ++i) {
    LeaderInfo l;
    l.group.topic = in.str();
    l.group.partition = PartitionId(in.i32());
    l.epoch = LeaderEpoch(in.i32());
    l.leader = NodeId(in.i32());
    const uint32_t isr = in.count(4);
    for (uint32_t j = 0; j < isr; ++j) l.isr.emplace_back(in.i32());
    out.push_back(std::move(l));
  }
  if (!in.done()) return corrupt("leaders");
  return out;
}

Buffer encode_node_info(const NodeInfo& info) {
  Buffer b;
  Out o(b);
  o.u16(kVersion);
  o.i32(info.node.value());
  o.u32(static_cast<uint32_t>(info.listeners.size()));
  for (const auto& l : info.listeners) {
    o.str(l.name);
    o.str(l.host);
    o.i32(l.port);
  }
  return b;
}

Result<NodeInfo> decode_node_info(std::span<const std::byte> bytes) {
  In in(bytes);
  if (!version_ok(in)) return corrupt("node info");
  NodeInfo info;
  info.node = NodeId(in.i32());
  const uint32_t n = in.count(8);
  for (uint32_t i = 0; i < n && in.ok(); ++i) {
    NodeInfo::Listener l;
    l.name = in.str();
    l.host = in.str();
    l.port = in.i32();
    info.listeners.push_back(std::move(l));
  }
  if (!in.done()) return corrupt("node info");
  return info;
}

Buffer encode_auto_create(const std::string& topic) {
  Buffer b;
  Out o(b);
  o.u16(kVersion);
  o.str(topic);
  return b;
}

Result<std::string> decode_auto_create(std::span<const std::byte> bytes) {
  In in(bytes);
  if (!version_ok(in)) return corrupt("auto create");
  std::string topic = in.str();
  if (!in.done() || topic.empty()) return corrupt("auto create");
  return topic;
}

Buffer encode_proposal(std::span<const std::byte> batch) {
  Buffer b;
  Out o(b);
  o.u16(kVersion);
  o.bytes(batch);
  return b;
}

Result<std::vector<std::byte>> decode_proposal(std::span<const std::byte> bytes) {
  In in(bytes);
  if (!version_ok(in)) return corrupt("proposal");
  auto batch = in.bytes();
  if (!in.done() || batch.empty()) return corrupt("proposal");
  return batch;
}

Buffer encode_proposal_answer(const ProposalAnswer& answer) {
  Buffer b;
  Out o(b);
  o.u16(kVersion);
  o.u16(static_cast<uint16_t>(answer.error_code));
  o.str(answer.message);
  o.i64(answer.end.value());
  return b;
}

Result<ProposalAnswer> decode_proposal_answer(std::span<const std::byte> bytes) {
  In in(bytes);
  if (!version_ok(in)) return corrupt("proposal answer");
  ProposalAnswer a;
  a.error_code = static_cast<int16_t>(in.u16());
  a.message = in.str();
  a.end = Offset(in.i64());
  if (!in.done()) return corrupt("proposal answer");
  return a;
}

}  // namespace ferry::cluster
