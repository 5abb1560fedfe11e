// Heartbeat: per mirror, a small record sent to a topic on the central cluster every
// heartbeats.interval.ms (like MirrorMaker 2's heartbeats topic), so that operators there can
// tell a silent site that is alive from one that is gone. It also keeps a request on the link
// when no data flows, so the connection watchdog (watchdog.timeout.ms) notices a dead
// connection on an idle link too.
//
// The record: key "<node.id>/<mirror name>", value one line of JSON
//   {"node":<node.id>,"mirror":"<name>","sent_ms":<ms>,"partitions":<n>,"records_behind":<n>}
// timestamp = sent_ms (CreateTime). Sent with acks=all but not idempotent: a heartbeat whose
// answer was lost may land twice; readers take the newest per key. The topic is looked up first
// and created with one partition when missing (with target.topics.create on).
//
// A failed heartbeat is reported to the mirror as a link failure only when the connection
// failed (not for an error answer from the broker); its other errors are kept in last_error().
//
// Threading: the mirror's loop thread only. Ownership: the Mirror owns it; the Client and Clock
// outlive it. Destroying it drops the callbacks of its requests still in flight.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/uv_timer.h"
#include "config/mirror_config.h"

namespace ferry::client {
class Client;
}

namespace ferry::mirror {

// What a heartbeat says about the mirror besides being alive.
struct HeartbeatSummary {
  int64_t partitions = 0;
  int64_t records_behind = 0;
};

std::string heartbeat_key(int32_t node_id, std::string_view mirror);
std::string heartbeat_value(int32_t node_id, std::string_view mirror, int64_t sent_ms,
                            const HeartbeatSummary& summary);

class Heartbeat {
 public:
  struct Hooks {
    std::function<HeartbeatSummary()> summary;
    std::function<void()> link_ok;                        // an answer came back
    std::function<void(const std::string&)> link_failed;  // the connection failed
  };

  Heartbeat(uv_loop_t* loop, client::Client& client, const config::MirrorConfig& config,
            int32_t node_id, const Clock& clock, Hooks hooks);
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // Sends the first heartbeat at once, then every heartbeats.interval.ms (nothing when it is 0).
  // A heartbeat still unanswered when the next is due delays the next one.
  void start();

  int64_t sent() const noexcept { return sent_; }  // acknowledged heartbeats
  int64_t last_ok_ms() const noexcept { return last_ok_ms_; }
  const std::string& last_error() const noexcept { return last_error_; }

 private:
  void tick();
  void ensure_topic();
  void send();
  void failed(const std::string& what, bool connection);

  uv_loop_t* loop_;
  client::Client& client_;
  const config::MirrorConfig& config_;
  int32_t node_id_;
  const Clock& clock_;
  Hooks hooks_;
  UvTimer timer_;
  bool pending_ = false;      // a lookup, creation or Produce is on its way
  bool topic_ready_ = false;  // the topic was seen with a partition 0
  int64_t sent_ = 0;
  int64_t last_ok_ms_ = 0;
  std::string last_error_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace ferry::mirror
