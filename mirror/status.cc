// The status file's format and `ferry mirror status` output. See status.h.
#include "mirror/status.h"

#include <charconv>
#include <cstdio>
#include <map>

#include "common/json_text.h"

namespace ferry::mirror {
namespace {

constexpr std::string_view kMagic = "ferry-mirror-status 2";
constexpr std::string_view kColumns =
    "mirror\tlink_state\tlink_since_ms\treconnects\tlast_error\tlast_error_ms\ttopic\tpartition\t"
    "target_topic\tstate\tsource_end\tforwarded\trecords_behind\tseconds_behind\ttarget_offset\t"
    "bytes_behind\tbytes_sent\trecords_sent\tlast_ack_ms\ttarget_lost\trecords_resent\t"
    "heartbeats_sent\theartbeat_ok_ms";
constexpr size_t kFieldCount = 23;

std::string clean(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

bool to_int(std::string_view s, int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t cut = s.find(sep);
    out.push_back(s.substr(0, cut));
    if (cut == std::string_view::npos) break;
    s = s.substr(cut + 1);
  }
  return out;
}

std::string json_string(std::string_view s) { return json_quote(s); }

std::string ago(int64_t now_ms, int64_t then_ms) {
  if (then_ms <= 0) return "-";
  return std::to_string(std::max<int64_t>(0, (now_ms - then_ms) / 1000)) + "s ago";
}

}  // namespace

std::string render_status_file(const StatusSnapshot& s) {
  std::string out = std::string(kMagic) + " " + std::to_string(s.written_ms) + "\n";
  out += std::string(kColumns) + "\n";
  for (const StatusRow& r : s.rows) {
    const std::string fields[kFieldCount] = {clean(r.mirror),
                                             clean(r.link_state),
                                             std::to_string(r.link_since_ms),
                                             std::to_string(r.reconnects),
                                             clean(r.last_error),
                                             std::to_string(r.last_error_ms),
                                             clean(r.topic),
                                             std::to_string(r.partition),
                                             clean(r.target_topic),
                                             clean(r.state),
                                             std::to_string(r.source_end),
                                             std::to_string(r.forwarded),
                                             std::to_string(r.records_behind),
                                             std::to_string(r.seconds_behind),
                                             std::to_string(r.target_offset),
                                             std::to_string(r.bytes_behind),
                                             std::to_string(r.bytes_sent),
                                             std::to_string(r.records_sent),
                                             std::to_string(r.last_ack_ms),
                                             std::to_string(r.target_lost),
                                             std::to_string(r.records_resent),
                                             std::to_string(r.heartbeats_sent),
                                             std::to_string(r.heartbeat_ok_ms)};
    for (size_t i = 0; i < kFieldCount; ++i) {
      if (i != 0) out += '\t';
      out += fields[i];
    }
    out += '\n';
  }
  return out;
}

Result<StatusSnapshot> parse_status_file(std::string_view text) {
  auto bad = [](std::string what) { return Error(Errc::corrupt, "mirror status: " + what); };
  std::vector<std::string_view> lines = split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.size() < 2 || lines[0].substr(0, kMagic.size()) != kMagic || lines[1] != kColumns) {
    return bad("not a ferry mirror status file (or one from another version)");
  }
  StatusSnapshot s;
  if (!to_int(lines[0].substr(std::min(lines[0].size(), kMagic.size() + 1)), s.written_ms)) {
    return bad("bad first line");
  }
  for (size_t i = 2; i < lines.size(); ++i) {
    const std::vector<std::string_view> f = split(lines[i], '\t');
    if (f.size() != kFieldCount)
      return bad("line " + std::to_string(i + 1) + ": wrong field count");
    StatusRow r;
    int64_t partition = 0;
    r.mirror = f[0];
    r.link_state = f[1];
    r.last_error = f[4];
    r.topic = f[6];
    r.target_topic = f[8];
    r.state = f[9];
    if (!to_int(f[2], r.link_since_ms) || !to_int(f[3], r.reconnects) ||
        !to_int(f[5], r.last_error_ms) || !to_int(f[7], partition) ||
        !to_int(f[10], r.source_end) || !to_int(f[11], r.forwarded) ||
        !to_int(f[12], r.records_behind) || !to_int(f[13], r.seconds_behind) ||
        !to_int(f[14], r.target_offset) || !to_int(f[15], r.bytes_behind) ||
        !to_int(f[16], r.bytes_sent) || !to_int(f[17], r.records_sent) ||
        !to_int(f[18], r.last_ack_ms) || !to_int(f[19], r.target_lost) ||
        !to_int(f[20], r.records_resent) || !to_int(f[21], r.heartbeats_sent) ||
        !to_int(f[22], r.heartbeat_ok_ms)) {
      return bad("line " + std::to_string(i + 1) + ": bad number");
    }
    r.partition = static_cast<int32_t>(partition);
    s.rows.push_back(std::move(r));
  }
  return s;
}

std::string render_status_text(const StatusSnapshot& s, int64_t now_ms) {
  std::string out;
  std::string last_mirror;
  char line[512];
  for (const StatusRow& r : s.rows) {
    if (r.mirror != last_mirror) {
      last_mirror = r.mirror;
      out += "mirror " + r.mirror + ": " + r.link_state + " since " + ago(now_ms, r.link_since_ms) +
             ", " + std::to_string(r.reconnects) + " reconnects";
      if (r.heartbeats_sent > 0 || r.heartbeat_ok_ms > 0) {
        out += ", " + std::to_string(r.heartbeats_sent) + " heartbeats (last ok " +
               ago(now_ms, r.heartbeat_ok_ms) + ")";
      }
      if (!r.last_error.empty()) {
        out += ", last error " + ago(now_ms, r.last_error_ms) + ": " + r.last_error;
      }
      out += "\n";
      if (r.partition >= 0) {
        std::snprintf(
            line, sizeof line, "  %-32s %-12s %12s %12s %10s %12s %8s %12s %12s %12s %10s %8s\n",
            "TOPIC/PARTITION -> TARGET", "STATE", "SOURCE-END", "FORWARDED", "BEHIND",
            "BEHIND-BYTES", "BEHIND-S", "TARGET-OFF", "SENT", "SENT-BYTES", "LAST-ACK", "RESENT");
        out += line;
      }
    }
    if (r.partition < 0) continue;
    const std::string tp = r.topic + "/" + std::to_string(r.partition) + " -> " + r.target_topic;
    const std::string last_ack = r.last_ack_ms > 0 ? ago(now_ms, r.last_ack_ms) : "-";
    std::snprintf(line, sizeof line,
                  "  %-32s %-12s %12lld %12lld %10lld %12lld %8lld %12lld %12lld %12lld %10s "
                  "%8lld\n",
                  tp.c_str(), r.state.c_str(), static_cast<long long>(r.source_end),
                  static_cast<long long>(r.forwarded), static_cast<long long>(r.records_behind),
                  static_cast<long long>(r.bytes_behind), static_cast<long long>(r.seconds_behind),
                  static_cast<long long>(r.target_offset), static_cast<long long>(r.records_sent),
                  static_cast<long long>(r.bytes_sent), last_ack.c_str(),
                  static_cast<long long>(r.records_resent));
    out += line;
  }
  if (s.rows.empty()) out = "no mirrors configured\n";
  return out;
}

std::string render_status_json(const StatusSnapshot& s, const PartitionJsonExtra& partition_extra) {
  std::string out = "{\"written_ms\":" + std::to_string(s.written_ms) + ",\"mirrors\":[";
  std::string last_mirror;
  bool first_mirror = true;
  bool first_partition = true;
  for (const StatusRow& r : s.rows) {
    if (first_mirror || r.mirror != last_mirror) {
      if (!first_mirror) out += "]},";
      first_mirror = false;
      first_partition = true;
      last_mirror = r.mirror;
      out += "{\"name\":" + json_string(r.mirror) + ",\"link_state\":" + json_string(r.link_state) +
             ",\"link_since_ms\":" + std::to_string(r.link_since_ms) +
             ",\"reconnects\":" + std::to_string(r.reconnects) +
             ",\"last_error\":" + (r.last_error.empty() ? "null" : json_string(r.last_error)) +
             ",\"last_error_ms\":" + std::to_string(r.last_error_ms) +
             ",\"heartbeats_sent\":" + std::to_string(r.heartbeats_sent) +
             ",\"heartbeat_ok_ms\":" + std::to_string(r.heartbeat_ok_ms) + ",\"partitions\":[";
    }
    if (r.partition < 0) continue;
    if (!first_partition) out += ",";
    first_partition = false;
    out += "{\"topic\":" + json_string(r.topic) + ",\"partition\":" + std::to_string(r.partition) +
           ",\"target_topic\":" + json_string(r.target_topic) +
           ",\"state\":" + json_string(r.state) +
           ",\"source_end\":" + std::to_string(r.source_end) +
           ",\"forwarded\":" + std::to_string(r.forwarded) +
           ",\"records_behind\":" + std::to_string(r.records_behind) +
           ",\"seconds_behind\":" + std::to_string(r.seconds_behind) +
           ",\"target_offset\":" + std::to_string(r.target_offset) +
           ",\"bytes_behind\":" + std::to_string(r.bytes_behind) +
           ",\"bytes_sent\":" + std::to_string(r.bytes_sent) +
           ",\"records_sent\":" + std::to_string(r.records_sent) +
           ",\"last_ack_ms\":" + std::to_string(r.last_ack_ms) +
           ",\"target_lost\":" + std::to_string(r.target_lost) +
           ",\"records_resent\":" + std::to_string(r.records_resent) +
           (partition_extra ? partition_extra(r) : std::string()) + "}";
  }
  if (!first_mirror) out += "]}";
  return out + "]}\n";
}

}  // namespace ferry::mirror
