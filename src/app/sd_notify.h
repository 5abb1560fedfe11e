// systemd's readiness protocol spoken directly: datagrams to $NOTIFY_SOCKET, no libsystemd.
//
//   SdNotifier n = SdNotifier::from_environment();
//   n.notify("STATUS=opening partition logs");
//   n.notify("READY=1\nSTATUS=serving");
//
// NOTIFY_SOCKET names a Unix datagram socket: a path, or an abstract-namespace name written
// with a leading '@'. Without it (not under systemd, or Type= other than notify) every call does
// nothing. Messages are "KEY=VALUE" lines; systemd reads READY=1, STATUS=..., WATCHDOG=1 and
// STOPPING=1 among others (sd_notify(3)). A failed send is reported once in the log and
// otherwise ignored: notifications never stop the broker.
//
// The watchdog: when WATCHDOG_USEC is set (and WATCHDOG_PID is unset or this process's pid),
// watchdog_interval_ms() is half of it, the interval at which the loop should send WATCHDOG=1.
//
// Not thread-safe: owned and used by the loop thread (or before the loop starts).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::app {

class SdNotifier {
 public:
  SdNotifier() = default;
  ~SdNotifier();
  SdNotifier(const SdNotifier&) = delete;
  SdNotifier& operator=(const SdNotifier&) = delete;
  SdNotifier(SdNotifier&& other) noexcept;
  SdNotifier& operator=(SdNotifier&& other) noexcept;

  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (left set: ferry starts no children).
  static SdNotifier from_environment();

  bool enabled() const noexcept { return fd_ >= 0; }
  // Sends one datagram (several newline-separated assignments are allowed). No-op if disabled.
  void notify(std::string_view message);
  // Half of WATCHDOG_USEC in milliseconds (at least 1), or 0 when no watchdog is requested.
  uint64_t watchdog_interval_ms() const noexcept { return watchdog_interval_ms_; }

 private:
  int fd_ = -1;
  std::string address_;  // as given in NOTIFY_SOCKET
  uint64_t watchdog_interval_ms_ = 0;
  bool warned_ = false;
};

// Half of `watchdog_usec` in ms if the watchdog applies to `self_pid` (pid_text empty or equal);
// 0 otherwise or if the text is not a positive number. Exposed for tests.
uint64_t watchdog_interval_from(std::string_view watchdog_usec, std::string_view pid_text,
                                long self_pid) noexcept;

}  // namespace ferry::app
