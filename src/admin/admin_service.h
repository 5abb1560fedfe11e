// The admin listener (admin.listen): an HTTP/1.1 server on the broker's loop serving
//   GET /health/live   200 while the loop answers
//   GET /health/ready  200 when the data directory is writable, meta.db open, every Kafka
//                      listener listening and the disk not full (log.dir.min.free.bytes);
//                      503 with a JSON reason otherwise
//   GET /metrics       Prometheus text exposition 0.0.4 (metrics_render.cc)
//   GET /v1/status     JSON: broker, topics and partitions, groups and lag, mirrors, cluster
//   GET /              the status page (status_page.cc)
// With admin.basic.auth.user set, every path but the two health checks needs HTTP basic
// authentication (401 with a WWW-Authenticate challenge otherwise).
//
// Ownership and threads: app::Node owns it, builds it after the broker and the mirrors and
// stops it before them; it reads the broker, the logs, the store and the mirrors through
// references valid until stop()'s `done` fired. Loop thread only. Every answer is computed on
// the loop at request time; a /metrics scrape walks every partition once.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "admin/admin_view.h"
#include "admin/http_server.h"
#include "common/clock.h"
#include "common/result.h"

namespace ferry::admin {

struct AdminOptions {
  HttpServerOptions http;
  std::string basic_auth_user;           // empty: no authentication
  std::string basic_auth_password_file;  // read by start()
  std::string data_dir;
  std::string version;
  std::string commit;
};

// AdminOptions from the config (admin.listen must be non-empty and valid: the loader checked).
Result<AdminOptions> admin_options(const config::BrokerConfig& c);

class AdminService {
 public:
  AdminService(uv_loop_t* loop, AdminOptions options, const Clock& clock, broker::Broker& broker,
               storage::LogManager& logs, meta::MetaStore& meta,
               const mirror::MirrorService* mirrors);
  ~AdminService();
  AdminService(const AdminService&) = delete;
  AdminService& operator=(const AdminService&) = delete;

  // Reads the password file, hooks the fsync histogram to the logs' Flusher, listens.
  Status start();
  // The cluster node whose state /v1/status and /metrics show (null: none, the default).
  void set_cluster(const cluster::ClusterNode* cluster) noexcept { cluster_ = cluster; }
  uint16_t port() const noexcept { return server_ ? server_->port() : 0; }
  // SIGHUP: basic authentication from `user` and the first line of `password_file` again
  // (empty user: none). On an error (file unreadable or empty) the current credentials stay.
  Status reload_credentials(const std::string& user, const std::string& password_file);
  // Closes the listener and its connections, unhooks the Flusher; `done` fires on the loop.
  void stop(std::function<void()> done);

  // One request, as the server hands it over (public for tests).
  HttpResponse handle(const HttpRequest& req);

 private:
  AdminView view() const;
  bool authorized(const HttpRequest& req) const;

  uv_loop_t* loop_;
  AdminOptions options_;
  const Clock& clock_;
  broker::Broker& broker_;
  storage::LogManager& logs_;
  meta::MetaStore& meta_;
  const mirror::MirrorService* mirrors_;
  const cluster::ClusterNode* cluster_ = nullptr;
  std::string expected_credentials_;  // "user:password"
  std::unique_ptr<HttpServer> server_;
  std::shared_ptr<FsyncStats> fsync_ = std::make_shared<FsyncStats>();
  int64_t start_ms_;
  uint64_t scrapes_ = 0;
  double last_scrape_seconds_ = 0;
};

// The status page: one self-contained HTML document (status_page.cc).
std::string_view status_page_html();

}  // namespace ferry::admin
