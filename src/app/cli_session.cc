// Bootstrap parsing and the synchronous client session of the operator commands.
#include "app/cli_session.h"

namespace ferry::app {

Result<client::BrokerAddress> parse_bootstrap(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
    return Error(Errc::invalid_argument, "--bootstrap '" + s + "': expected HOST:PORT");
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  uint32_t port = 0;
  for (char c : s.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535)
      return Error(Errc::invalid_argument, "--bootstrap '" + s + "': bad port");
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535)
    return Error(Errc::invalid_argument, "--bootstrap '" + s + "': bad port");
  return client::BrokerAddress{host, static_cast<uint16_t>(port)};
}

Session::Session(const client::BrokerAddress& bootstrap, uint32_t timeout_ms,
                 const std::string& name) {
  uv_loop_init(&loop_);
  client::ConnectionOptions o;
  o.client_id = name;
  o.software_name = name;
  o.software_version = FERRY_VERSION;
  o.connect_timeout_ms = timeout_ms;
  o.request_timeout_ms = timeout_ms;
  client_.emplace(&loop_, bootstrap.host, bootstrap.port, o);
}

Session::~Session() {
  client_->close();
  client_.reset();
  uv_run(&loop_, UV_RUN_DEFAULT);  // let the closed handles finish
  (void)uv_loop_close(&loop_);
}

}  // namespace ferry::app
