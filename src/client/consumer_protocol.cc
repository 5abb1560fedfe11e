// Decoding and encoding of the consumer protocol's assignment and subscription bytes.
#include "client/consumer_protocol.h"

namespace ferry::client {

Result<ConsumerAssignment> decode_consumer_assignment(std::span<const std::byte> bytes) {
  ConsumerAssignment a;
  if (bytes.empty()) return a;
  protocol::Reader r(bytes);
  a.version = r.i16();
  if (r.ok() && a.version < 0) r.fail("negative version");
  protocol::Decoder d(r, a.version, false);
  d.read(a.assigned);
  if (r.ok() && r.remaining() > 0) d.read(a.user_data);
  if (!r.ok()) {
    return Error(Errc::corrupt, std::string("malformed consumer assignment: ") + r.failure());
  }
  return a;
}

std::vector<std::byte> encode_consumer_assignment(const ConsumerAssignment& a) {
  std::vector<std::byte> out;
  protocol::Writer w(out);
  w.i16(a.version);
  protocol::Encoder e(w, a.version, false);
  e.write(a.assigned);
  e.write(a.user_data);
  return out;
}

Result<ConsumerSubscription> decode_consumer_subscription(std::span<const std::byte> bytes) {
  ConsumerSubscription s;
  protocol::Reader r(bytes);
  s.version = r.i16();
  if (r.ok() && s.version < 0) r.fail("negative version");
  protocol::Decoder d(r, 0, false);
  d.read(s.topics);
  if (r.ok() && r.remaining() > 0) d.read(s.user_data);
  if (!r.ok()) {
    return Error(Errc::corrupt, std::string("malformed consumer subscription: ") + r.failure());
  }
  return s;
}

std::vector<std::byte> encode_consumer_subscription(const ConsumerSubscription& s) {
  std::vector<std::byte> out;
  protocol::Writer w(out);
  w.i16(0);
  protocol::Encoder e(w, 0, false);
  e.write(s.topics);
  e.write(s.user_data);
  return out;
}

}  // namespace ferry::client
