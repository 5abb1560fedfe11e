// The payloads of the node-to-node link besides Raft's (raft_codec.h has those): leadership
// told to every node, a node's Kafka listeners, a forwarded auto-creation. Big-endian, each
// payload starting with a u16 version (1); short reads and trailing bytes are Errc::corrupt.
//   leaders      version, u32 count, per entry: u16 topic length, topic, i32 partition,
//                i32 epoch, i32 leader, u32 isr count, i32 per ISR node
//   node_info    version, i32 node, u32 count, per listener: u16 name length, name,
//                u16 host length, host, i32 port
//   auto_create  version, u16 topic length, topic
//   proposal     version, u32 length, a metadata-log record batch (metadata_records.h)
//   its answer   version, i16 error code, u16 message length, message, i64 end offset
#pragma once

#include <span>
#include <string>
#include <vector>

#include "cluster/peer_transport.h"
#include "common/buffer.h"
#include "common/result.h"

namespace ferry::cluster {

Buffer encode_leaders(const std::vector<LeaderInfo>& leaders);
Result<std::vector<LeaderInfo>> decode_leaders(std::span<const std::byte> bytes);
Buffer encode_node_info(const NodeInfo& info);
Result<NodeInfo> decode_node_info(std::span<const std::byte> bytes);
Buffer encode_auto_create(const std::string& topic);
Result<std::string> decode_auto_create(std::span<const std::byte> bytes);
Buffer encode_proposal(std::span<const std::byte> batch);
Result<std::vector<std::byte>> decode_proposal(std::span<const std::byte> bytes);
Buffer encode_proposal_answer(const ProposalAnswer& answer);
Result<ProposalAnswer> decode_proposal_answer(std::span<const std::byte> bytes);

}  // namespace ferry::cluster
