// Decoding and encoding of the consumer protocol's assignment bytes.
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

}  // namespace ferry::client
