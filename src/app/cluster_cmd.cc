// `ferry cluster status`: asks the admin listeners for /v1/status, merges their "cluster"
// members and prints the result. See cluster_cmd.h.
#include "app/cluster_cmd.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "client/sasl.h"
#include "cluster/cluster_status.h"
#include "common/clock.h"
#include "common/json_reader.h"
#include "config/broker_config.h"

namespace ferry::app {

namespace {

// "host:port" (IPv6 in brackets) split; false when malformed.
bool split_address(const std::string& a, std::string& host, std::string& port) {
  const size_t colon = a.rfind(':');
  if (colon == std::string::npos || colon + 1 >= a.size()) return false;
  host = a.substr(0, colon);
  port = a.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  return true;
}

// GET `path` from `address` with a deadline; the body of a 200 answer.
Result<std::string> http_get(const std::string& address, const std::string& path,
                             const std::string& credentials, int64_t timeout_ms) {
  std::string host, port;
  if (!split_address(address, host, port)) {
    return Error(Errc::invalid_argument, "not host:port: " + address);
  }
  const int64_t deadline = Clock::system().now_ms() + timeout_ms;
  auto left = [&] {
    const int64_t l = deadline - Clock::system().now_ms();
    return static_cast<int>(l < 0 ? 0 : l);
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Error(Errc::io, "cannot resolve " + host + ": " + gai_strerror(rc));
  }
  int fd = -1;
  std::string why = "no address";
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      why = std::strerror(errno);
      close(fd);
      fd = -1;
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (poll(&p, 1, left()) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
        err != 0) {
      why = err != 0 ? std::strerror(err) : "connect timed out";
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) return Error(Errc::io, why);
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + address + "\r\nConnection: close\r\n";
  if (!credentials.empty())
    req += "Authorization: Basic " + client::scram::base64_encode(credentials) + "\r\n";
  req += "\r\n";
  size_t sent = 0;
  std::string in;
  Status failed = ok_status();
  while (sent < req.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, left()) != 1) {
      failed = Error(Errc::io, "timed out sending");
      break;
    }
    const ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      failed = Error(Errc::io, std::strerror(errno));
      break;
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  while (failed) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left()) != 1) {
      failed = Error(Errc::io, "timed out waiting for the answer");
      break;
    }
    char buf[16384];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      failed = Error(Errc::io, std::strerror(errno));
      break;
    }
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > (64u << 20)) {
      failed = Error(Errc::too_large, "answer over 64 MiB");
      break;
    }
  }
  close(fd);
  if (!failed) return failed.error();
  const size_t head_end = in.find("\r\n\r\n");
  if (in.compare(0, 9, "HTTP/1.1 ") != 0 || head_end == std::string::npos) {
    return Error(Errc::corrupt, "not an HTTP answer");
  }
  const std::string status = in.substr(9, 3);
  if (status != "200") {
    return Error(Errc::failed_state, "HTTP " + in.substr(9, in.find("\r\n") - 9));
  }
  std::string body = in.substr(head_end + 4);
  // Chunked bodies are not expected (the admin server sends Content-Length); tolerate none.
  return body;
}

// "user:password" from the config's admin.basic.auth keys, or "".
std::string credentials_of(const config::BrokerConfig& c) {
  if (c.admin_basic_auth_user.empty()) return {};
  std::ifstream in(c.admin_basic_auth_password_file);
  std::string password;
  std::getline(in, password);
  while (!password.empty() && (password.back() == '\r' || password.back() == '\n')) {
    password.pop_back();
  }
  return c.admin_basic_auth_user + ":" + password;
}

}  // namespace

CLI::App* add_cluster_command(CLI::App& app, ClusterArgs& args) {
  auto* cluster = app.add_subcommand("cluster", "A replicated ferry cluster ([cluster])");
  cluster->require_subcommand(1);
  auto* status = cluster->add_subcommand(
      "status",
      "Nodes, links, controller, leaders, ISR, follower lag, under-replicated partitions");
  status
      ->add_option("--admin", args.admin,
                   "Admin listeners to ask, host:port (comma-separated or repeated; default: "
                   "admin.listen of --config)")
      ->delimiter(',');
  status->add_option("--config", args.config_file,
                     "Take admin.listen (and basic authentication) from this ferry.toml");
  status->add_option("--timeout-ms", args.timeout_ms, "Per admin listener (default 3000)")
      ->check(CLI::PositiveNumber);
  status->add_flag("--json", args.json, "Print JSON (fields in docs/cli.md)");
  return status;
}

int run_cluster_status(const ClusterArgs& args) {
  std::vector<std::string> admins = args.admin;
  std::string credentials;
  std::string config_file = args.config_file;
  const bool implicit = config_file.empty();
  if (implicit && std::ifstream("ferry.toml").good()) config_file = "ferry.toml";
  if (!config_file.empty()) {
    Result<config::BrokerConfig> c = config::load_config_file(config_file);
    if (!c && implicit && !admins.empty()) {
      // ./ferry.toml was only a guess, and the addresses are given: go on without it.
    } else if (!c) {
      std::fprintf(stderr, "ferry cluster status: %s\n", c.error().message().c_str());
      return 2;
    } else {
      credentials = credentials_of(*c);
    }
    if (c && admins.empty()) {
      if (c->admin_listen.empty()) {
        std::fprintf(stderr,
                     "ferry cluster status: %s has no admin.listen; name the nodes with --admin\n",
                     config_file.c_str());
        return 2;
      }
      admins.push_back(c->admin_listen);
    }
  }
  if (admins.empty()) admins.push_back("127.0.0.1:9644");

  std::vector<cluster::SourceResult> sources;
  for (const std::string& a : admins) {
    cluster::SourceResult s;
    s.admin = a;
    Result<std::string> body = http_get(a, "/v1/status", credentials, args.timeout_ms);
    if (!body) {
      s.view = body.error();
    } else if (Result<JsonValue> doc = JsonValue::parse(*body); !doc) {
      s.view = doc.error();
    } else {
      s.view = cluster::parse_node_view((*doc)["cluster"]);
    }
    sources.push_back(std::move(s));
  }
  const cluster::MergedStatus m = cluster::merge_views(sources);
  const std::string out =
      args.json ? cluster::render_merged_json(m) : cluster::render_merged_text(m);
  std::fputs(out.c_str(), stdout);
  bool any = false;
  for (const auto& s : m.sources) {
    if (s.node >= 0) any = true;
    if (!s.error.empty() && args.json) {
      std::fprintf(stderr, "ferry cluster status: %s: %s\n", s.admin.c_str(), s.error.c_str());
    }
  }
  return any ? 0 : 1;
}

}  // namespace ferry::app
