// SdNotifier: the sd_notify datagram protocol over a Unix socket. See sd_notify.h.
#include "app/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "common/log.h"

namespace ferry::app {
namespace {

bool parse_u64(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

uint64_t watchdog_interval_from(std::string_view watchdog_usec, std::string_view pid_text,
                                long self_pid) noexcept {
  uint64_t usec = 0;
  if (!parse_u64(watchdog_usec, &usec) || usec == 0) return 0;
  if (!pid_text.empty()) {
    uint64_t pid = 0;
    if (!parse_u64(pid_text, &pid) || pid != static_cast<uint64_t>(self_pid)) return 0;
  }
  const uint64_t half_ms = usec / 2000;
  return half_ms == 0 ? 1 : half_ms;
}

SdNotifier::~SdNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

SdNotifier::SdNotifier(SdNotifier&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      address_(std::move(other.address_)),
      watchdog_interval_ms_(other.watchdog_interval_ms_),
      warned_(other.warned_) {}

SdNotifier& SdNotifier::operator=(SdNotifier&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    address_ = std::move(other.address_);
    watchdog_interval_ms_ = other.watchdog_interval_ms_;
    warned_ = other.warned_;
  }
  return *this;
}

SdNotifier SdNotifier::from_environment() {
  SdNotifier n;
  const char* socket_name = std::getenv("NOTIFY_SOCKET");
  if (socket_name == nullptr || socket_name[0] == '\0') return n;
  // Paths and abstract names ('@' + name) only; sun_path holds at most 107 bytes plus NUL.
  if ((socket_name[0] != '/' && socket_name[0] != '@') ||
      std::strlen(socket_name) >= sizeof(sockaddr_un::sun_path)) {
    FERRY_LOG(warn, "systemd", "NOTIFY_SOCKET=%s is not a usable socket address; not notifying",
              log::escape(socket_name).c_str());
    return n;
  }
  n.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (n.fd_ < 0) {
    FERRY_LOG(warn, "systemd", "cannot create the notification socket: %s", std::strerror(errno));
    return n;
  }
  n.address_ = socket_name;
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  n.watchdog_interval_ms_ =
      watchdog_interval_from(usec != nullptr ? usec : "", pid != nullptr ? pid : "", ::getpid());
  return n;
}

void SdNotifier::notify(std::string_view message) {
  if (fd_ < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address_.data(), address_.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
  if (address_[0] == '@') {
    addr.sun_path[0] = '\0';  // abstract namespace: the name is not NUL-terminated
  } else {
    len = static_cast<socklen_t>(len + 1);
  }
  ssize_t sent = 0;
  do {
    sent = ::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&addr), len);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0 && !warned_) {
    warned_ = true;
    FERRY_LOG(warn, "systemd", "cannot notify %s: %s (further failures not logged)",
              address_.c_str(), std::strerror(errno));
  }
}

}  // namespace ferry::app
