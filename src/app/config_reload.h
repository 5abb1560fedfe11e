// SIGHUP: `ferry serve` reads its configuration file again (with the same command-line flags
// over it) and applies the keys that can change while running; every other changed key is
// named once at WARN as needing a restart.
//
// Live keys (kLiveKeys; listed in docs/operations.md):
//   log.level                        the process-wide level, at once
//   admin.basic.auth.user            the admin listener's credentials; the password file is
//   admin.basic.auth.password.file   read again on every SIGHUP, so a rotated password applies
// TLS: the files named by ssl.certificate.location, ssl.key.location and ssl.ca.location are
// read again on every SIGHUP (Broker::reload_tls); changing those keys' paths needs a restart.
//
// A file that no longer parses changes nothing (logged at ERROR with the loader's message).
// A key that needs a restart is logged once per new value: a second SIGHUP with the file
// unchanged logs nothing again; setting the running value back clears it.
//
// Loop thread only (the SIGHUP handler runs on the loop).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "app/serve.h"
#include "config/broker_config.h"

namespace ferry::app {

class Node;

inline constexpr std::string_view kLiveKeys[] = {"log.level", "admin.basic.auth.user",
                                                 "admin.basic.auth.password.file"};

// The [broker] keys whose value differs between two configurations, split into those applied
// live and those needing a restart ("topic_defaults" and "mirror" stand for those sections).
struct ReloadPlan {
  std::vector<std::string> live;
  std::vector<std::string> restart;
};
ReloadPlan plan_reload(const config::BrokerConfig& running, const config::BrokerConfig& next);

class ConfigReloader {
 public:
  // `running`: the configuration the node was started with.
  ConfigReloader(ServeArgs args, config::BrokerConfig running)
      : args_(std::move(args)), running_(std::move(running)) {}
  // Reads the file again and applies what can change live to `node`; logs what it did.
  void reload(Node& node);
  const config::BrokerConfig& running() const noexcept { return running_; }

 private:
  ServeArgs args_;
  config::BrokerConfig running_;               // with the live changes applied so far
  std::map<std::string, std::string> warned_;  // restart-needing key -> value already warned about
};

}  // namespace ferry::app
