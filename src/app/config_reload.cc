// The SIGHUP configuration reload. See config_reload.h.
#include "app/config_reload.h"

#include <algorithm>

#include "app/node.h"
#include "common/log.h"
#include "config/keys.h"

namespace ferry::app {
namespace {

bool is_live(std::string_view key) {
  return std::find(std::begin(kLiveKeys), std::end(kLiveKeys), key) != std::end(kLiveKeys);
}

// Values of keys that hold secrets are not written to the log.
std::string shown(std::string_view key, const std::string& value) {
  if (key.find("password") != std::string_view::npos ||
      key.find("secret") != std::string_view::npos) {
    return "(hidden)";
  }
  return value.empty() ? std::string("\"\"") : log::escape(value, 120);
}

// The text a key's value has in `c`, or of a whole section for "topic_defaults" / "mirror".
std::string value_text(std::string_view key, const config::BrokerConfig& c) {
  if (key == "topic_defaults") {
    std::string out;
    for (const auto& [k, v] : c.topic_defaults) out += k + "=" + v + ",";
    return out;
  }
  if (key == "mirror") return std::to_string(c.mirrors.size()) + " sections";
  if (key == "cluster") {
    if (!c.cluster) return "none";
    std::string out;
    for (const auto& p : c.cluster->peers)
      out += std::to_string(p.id.value()) + "@" + p.address() + ",";
    return out;
  }
  for (const config::KeySpec& spec : config::all_keys()) {
    if (spec.section == config::Section::broker && spec.name == key) {
      return config::broker_field_text(spec, c);
    }
  }
  return {};
}

}  // namespace

ReloadPlan plan_reload(const config::BrokerConfig& running, const config::BrokerConfig& next) {
  ReloadPlan plan;
  for (const config::KeySpec& spec : config::all_keys()) {
    if (spec.section != config::Section::broker ||
        std::holds_alternative<std::monostate>(spec.field)) {
      continue;
    }
    if (config::broker_field_text(spec, running) == config::broker_field_text(spec, next)) continue;
    (is_live(spec.name) ? plan.live : plan.restart).emplace_back(spec.name);
  }
  if (running.topic_defaults != next.topic_defaults) plan.restart.emplace_back("topic_defaults");
  if (running.mirrors != next.mirrors) plan.restart.emplace_back("mirror");
  if (running.cluster != next.cluster) plan.restart.emplace_back("cluster");
  return plan;
}

void ConfigReloader::reload(Node& node) {
  auto loaded = serve_config(args_);
  if (!loaded) {
    FERRY_LOG(error, "broker", "config reload failed, the running configuration stays: %s",
              loaded.error().message().c_str());
    return;
  }
  const config::BrokerConfig& next = *loaded;
  const ReloadPlan plan = plan_reload(running_, next);

  size_t applied = 0;
  if (next.log_level != running_.log_level) {
    // Written at the more verbose of the two levels, so the change shows either way.
    const std::string from = value_text("log.level", running_);
    const std::string to = value_text("log.level", next);
    const bool quieter = next.log_level > running_.log_level;
    if (quieter)
      FERRY_LOG(info, "broker", "config reload: log.level %s -> %s (applied)", from.c_str(),
                to.c_str());
    log::set_level(next.log_level);
    if (!quieter)
      FERRY_LOG(info, "broker", "config reload: log.level %s -> %s (applied)", from.c_str(),
                to.c_str());
    running_.log_level = next.log_level;
    ++applied;
  }
  // The credentials are read again whenever authentication is on: the password file's
  // content may have changed even when its path did not.
  const bool auth_keys_changed =
      next.admin_basic_auth_user != running_.admin_basic_auth_user ||
      next.admin_basic_auth_password_file != running_.admin_basic_auth_password_file;
  if (admin::AdminService* a = node.admin();
      a != nullptr && (auth_keys_changed || !next.admin_basic_auth_user.empty())) {
    if (auto st =
            a->reload_credentials(next.admin_basic_auth_user, next.admin_basic_auth_password_file);
        !st) {
      FERRY_LOG(error, "admin", "config reload: admin basic authentication unchanged: %s",
                st.error().message().c_str());
    } else {
      running_.admin_basic_auth_user = next.admin_basic_auth_user;
      running_.admin_basic_auth_password_file = next.admin_basic_auth_password_file;
      if (auth_keys_changed) {
        FERRY_LOG(info, "admin", "config reload: admin basic authentication %s (applied)",
                  next.admin_basic_auth_user.empty() ? "off" : "reloaded");
        ++applied;
      }
    }
  }

  size_t restart = 0;
  for (const std::string& key : plan.restart) {
    const std::string now = value_text(key, next);
    auto it = warned_.find(key);
    if (it != warned_.end() && it->second == now) continue;  // said already
    warned_[key] = now;
    FERRY_LOG(warn, "broker",
              "config reload: %s changed (%s -> %s); it takes effect after a restart", key.c_str(),
              shown(key, value_text(key, running_)).c_str(), shown(key, now).c_str());
    ++restart;
  }
  // A key set back to its running value may be warned about again if it changes later.
  for (auto it = warned_.begin(); it != warned_.end();) {
    if (std::find(plan.restart.begin(), plan.restart.end(), it->first) == plan.restart.end()) {
      it = warned_.erase(it);
    } else {
      ++it;
    }
  }
  FERRY_LOG(info, "broker", "config reload: %zu change(s) applied, %zu newly needing a restart",
            applied, restart);
}

}  // namespace ferry::app
