// Group membership snapshots. See group_snapshot.h.
#include "broker/groups/group_snapshot.h"

#include "meta/sqlite.h"
#include "protocol/wire.h"

namespace ferry::broker {
namespace {

constexpr int8_t kVersion = 1;
// The smallest encoded member: four empty strings, a null instance id, two timeouts, two empty
// byte strings.
constexpr size_t kMinMember = 4 * 2 + 2 + 2 * 4 + 2 * 4;

}  // namespace

std::vector<std::byte> encode_group_snapshot(const GroupSnapshot& s) {
  std::vector<std::byte> out;
  protocol::Writer w(out);
  w.i8(kVersion);
  w.i32(s.generation);
  w.string(s.protocol_type, false);
  w.string(s.protocol, false);
  w.string(s.leader, false);
  w.i32(static_cast<int32_t>(s.members.size()));
  for (const auto& m : s.members) {
    w.string(m.member_id, false);
    w.nullable_string(m.group_instance_id, false);
    w.string(m.client_id, false);
    w.string(m.client_host, false);
    w.i32(m.session_timeout_ms);
    w.i32(m.rebalance_timeout_ms);
    w.bytes(m.metadata, false);
    w.bytes(m.assignment, false);
  }
  return out;
}

Result<GroupSnapshot> decode_group_snapshot(std::span<const std::byte> in) {
  protocol::Reader r(in);
  const int8_t version = r.i8();
  if (!r.ok()) return Error(Errc::corrupt, "group snapshot: empty");
  if (version != kVersion) return Error(Errc::unsupported, "group snapshot of an unknown version");
  GroupSnapshot s;
  s.generation = r.i32();
  s.protocol_type = r.string(false);
  s.protocol = r.string(false);
  s.leader = r.string(false);
  const int32_t n = r.i32();
  if (n < 0 || static_cast<size_t>(n) * kMinMember > r.remaining()) r.fail("bad member count");
  auto get_bytes = [&r]() {
    auto b = r.nullable_bytes(false);
    if (!b) return protocol::Bytes{};
    return protocol::Bytes(b->begin(), b->end());
  };
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    GroupSnapshot::Member m;
    m.member_id = r.string(false);
    m.group_instance_id = r.nullable_string(false);
    m.client_id = r.string(false);
    m.client_host = r.string(false);
    m.session_timeout_ms = r.i32();
    m.rebalance_timeout_ms = r.i32();
    m.metadata = get_bytes();
    m.assignment = get_bytes();
    s.members.push_back(std::move(m));
  }
  if (r.ok() && r.remaining() != 0) r.fail("trailing bytes");
  if (!r.ok()) return Error(Errc::corrupt, std::string("group snapshot: ") + r.failure());
  return s;
}

meta::Mutation put_group_snapshot(std::string group, const GroupSnapshot& s) {
  return meta::Mutation::apply(
      [group = std::move(group), state = encode_group_snapshot(s)](meta::Db& db) -> Status {
        auto put = db.cached("INSERT OR REPLACE INTO group_state (group_id, state) VALUES (?, ?)");
        if (!put) return std::move(put).error();
        (*put)->bind(1, group);
        (*put)->bind_blob(
            2, std::string_view(reinterpret_cast<const char*>(state.data()), state.size()));
        return (*put)->run();
      });
}

meta::Mutation delete_group_snapshot(std::string group) {
  return meta::Mutation::apply([group = std::move(group)](meta::Db& db) -> Status {
    auto del = db.cached("DELETE FROM group_state WHERE group_id = ?");
    if (!del) return std::move(del).error();
    return (*del)->bind(1, group).run();
  });
}

Result<std::map<std::string, GroupSnapshot>> load_group_snapshots(meta::Db& db) {
  auto s = db.cached("SELECT group_id, state FROM group_state ORDER BY group_id");
  if (!s) return std::move(s).error();
  std::map<std::string, GroupSnapshot> out;
  for (;;) {
    auto row = (*s)->step();
    if (!row) return std::move(row).error();
    if (!*row) return out;
    std::string group = (*s)->col_text(0);
    const std::string state = (*s)->col_text(1);
    auto snap = decode_group_snapshot(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(state.data()), state.size()));
    if (!snap) {
      return Error(snap.error().code(), "group " + group + ": " + snap.error().message());
    }
    out.emplace(std::move(group), std::move(*snap));
  }
}

}  // namespace ferry::broker
