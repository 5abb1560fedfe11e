// `ferry config check`: the loader's checks, then the files the configuration names.
#include "app/config_cmd.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ferry::app {
namespace {

// The 1-based line where `key` is assigned ("key = ..." at the start of a line, after blanks),
// or 0. Keys in ferry.toml are unique within a table, and the checks below concern [broker].
uint32_t line_of_key(const std::string& text, std::string_view key) {
  std::istringstream in(text);
  std::string line;
  uint32_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    size_t i = line.find_first_not_of(" \t");
    if (i == std::string::npos || line.compare(i, key.size(), key) != 0) continue;
    i += key.size();
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '=') return n;
  }
  return 0;
}

// The loader's message holds one "FILE:LINE: KEY: message" per line.
void split_lines(const std::string& text, std::vector<std::string>& out) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
}

}  // namespace

CLI::App* add_config_command(CLI::App& app, ConfigArgs& args) {
  auto* config = app.add_subcommand("config", "Work with a configuration file");
  config->require_subcommand(1);
  auto* check = config->add_subcommand(
      "check", "Validate a configuration file without starting (exit 0 valid, 1 invalid)");
  check->add_option("file", args.file, "The TOML file (e.g. /etc/ferry/ferry.toml)")->required();
  return check;
}

ConfigCheck check_config(const std::string& file) {
  ConfigCheck out;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    out.problems.push_back(file + ": cannot read: " + std::strerror(errno));
    return out;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  auto parsed = config::parse_config(text, file);
  if (!parsed) {
    split_lines(parsed.error().message(), out.problems);
    return out;
  }
  const config::BrokerConfig& c = *parsed;
  auto readable = [&](std::string_view key, const std::string& path) {
    if (path.empty() || ::access(path.c_str(), R_OK) == 0) return;
    out.problems.push_back(file + ":" + std::to_string(line_of_key(text, key)) + ": " +
                           std::string(key) + ": cannot read " + path + ": " +
                           std::strerror(errno));
  };
  if (!c.admin_basic_auth_user.empty()) {
    readable("admin.basic.auth.password.file", c.admin_basic_auth_password_file);
  }
  readable("ssl.certificate.location", c.ssl_certificate_location);
  readable("ssl.key.location", c.ssl_key_location);
  readable("ssl.ca.location", c.ssl_ca_location);
  out.config = std::move(*parsed);
  return out;
}

std::string config_ok_line(const std::string& file, const config::BrokerConfig& c) {
  const auto listeners = config::listener_configs(c);
  return file + ": OK (data.dir " + c.data_dir + ", " + std::to_string(listeners.size()) +
         (listeners.size() == 1 ? " listener" : " listeners") + ", " +
         std::to_string(c.mirrors.size()) + (c.mirrors.size() == 1 ? " mirror" : " mirrors") +
         ", admin " + (c.admin_listen.empty() ? std::string("off") : c.admin_listen) + ")";
}

int run_config_check(const ConfigArgs& args) {
  const ConfigCheck r = check_config(args.file);
  for (const auto& p : r.problems) std::fprintf(stderr, "%s\n", p.c_str());
  if (!r.ok()) return 1;
  std::printf("%s\n", config_ok_line(args.file, *r.config).c_str());
  return 0;
}

}  // namespace ferry::app
