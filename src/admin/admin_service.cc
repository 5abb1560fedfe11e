// The admin listener's routes, authentication and options. See admin_service.h.
#include "admin/admin_service.h"

#include <cstdio>

#include "admin/build_info.h"
#include "admin/metrics_text.h"
#include "common/json_text.h"
#include "common/log.h"

namespace ferry::admin {
namespace {

// Equal-time comparison of credentials.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

HttpResponse text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

Result<AdminOptions> admin_options(const config::BrokerConfig& c) {
  auto hp = config::parse_host_port(c.admin_listen);
  if (!hp) return Error(Errc::invalid_argument, "admin.listen: " + hp.error().message());
  AdminOptions o;
  o.http.host = hp->host;
  o.http.port = hp->port;
  o.basic_auth_user = c.admin_basic_auth_user;
  o.basic_auth_password_file = c.admin_basic_auth_password_file;
  o.data_dir = c.data_dir;
  o.version = std::string(build::version());
  o.commit = std::string(build::commit());
  return o;
}

AdminService::AdminService(uv_loop_t* loop, AdminOptions options, const Clock& clock,
                           broker::Broker& broker, storage::LogManager& logs, meta::MetaStore& meta,
                           const mirror::MirrorService* mirrors)
    : loop_(loop),
      options_(std::move(options)),
      clock_(clock),
      broker_(broker),
      logs_(logs),
      meta_(meta),
      mirrors_(mirrors),
      start_ms_(clock.now_ms()) {}

AdminService::~AdminService() {
  if (auto* f = logs_.flusher()) f->set_job_observer({});
}

namespace {

// "user:password" from the first line of `password_file`; empty `user`: no authentication.
Result<std::string> read_credentials(const std::string& user, const std::string& password_file) {
  if (user.empty()) return std::string();
  FILE* f = std::fopen(password_file.c_str(), "re");
  if (!f) {
    return Error(Errc::not_found, "admin.basic.auth.password.file: cannot read " + password_file);
  }
  char buf[1024];
  std::string password;
  if (std::fgets(buf, sizeof(buf), f)) password = buf;
  std::fclose(f);
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  if (password.empty()) {
    return Error(Errc::invalid_argument, "admin.basic.auth.password.file: " + password_file +
                                             " holds no password on its first line");
  }
  return user + ":" + password;
}

}  // namespace

Status AdminService::reload_credentials(const std::string& user, const std::string& password_file) {
  auto credentials = read_credentials(user, password_file);
  if (!credentials) return credentials.error();
  options_.basic_auth_user = user;
  options_.basic_auth_password_file = password_file;
  expected_credentials_ = std::move(*credentials);
  return ok_status();
}

Status AdminService::start() {
  {
    auto credentials =
        read_credentials(options_.basic_auth_user, options_.basic_auth_password_file);
    if (!credentials) return credentials.error();
    expected_credentials_ = std::move(*credentials);
  }
  if (auto* f = logs_.flusher()) {
    // The stats live in a shared_ptr: a job completing during shutdown finds them still there.
    f->set_job_observer([stats = fsync_](uint64_t ns, uint32_t datasyncs) {
      ++stats->jobs;
      stats->datasyncs += datasyncs;
      stats->duration.observe_ns(ns);
    });
  }
  server_ = std::make_unique<HttpServer>(loop_, options_.http,
                                         [this](const HttpRequest& r) { return handle(r); });
  FERRY_TRY(server_->listen());
  // "admin listener serving on HOST:PORT" is what scripts wait for.
  FERRY_LOG(info, "admin", "admin listener serving on %s:%u%s", options_.http.host.c_str(),
            static_cast<unsigned>(server_->port()),
            expected_credentials_.empty() ? "" : " (basic authentication)");
  return ok_status();
}

void AdminService::stop(std::function<void()> done) {
  if (auto* f = logs_.flusher()) f->set_job_observer({});
  if (!server_) {
    done();
    return;
  }
  server_->stop(std::move(done));
}

AdminView AdminService::view() const {
  AdminView v;
  v.broker = &broker_;
  v.logs = &logs_;
  v.meta = &meta_;
  v.mirrors = mirrors_;
  v.cluster = cluster_;
  v.fsync = fsync_.get();
  v.data_dir = options_.data_dir;
  v.version = options_.version;
  v.commit = options_.commit;
  v.start_ms = start_ms_;
  v.now_ms = clock_.now_ms();
  v.scrapes = scrapes_;
  v.last_scrape_seconds = last_scrape_seconds_;
  return v;
}

bool AdminService::authorized(const HttpRequest& req) const {
  if (expected_credentials_.empty()) return true;
  if (!req.authorization) return false;
  std::string_view a = *req.authorization;
  if (a.size() < 6 || (a.substr(0, 6) != "Basic " && a.substr(0, 6) != "basic ")) return false;
  a.remove_prefix(6);
  while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
  auto decoded = decode_base64(a);
  return decoded && same_secret(*decoded, expected_credentials_);
}

HttpResponse AdminService::handle(const HttpRequest& req) {
  const std::string& path = req.path;
  if (path == "/health/live") return text(200, "ok\n");
  if (path == "/health/ready") {
    const Readiness r = check_ready(view());
    HttpResponse out;
    out.content_type = "application/json";
    out.status = r.ready ? 200 : 503;
    out.body = r.ready ? "{\"ready\":true}\n" : "{\"ready\":false,\"reasons\":[";
    if (!r.ready) {
      for (size_t i = 0; i < r.reasons.size(); ++i) {
        if (i > 0) out.body += ',';
        out.body += json_quote(r.reasons[i]);
      }
      out.body += "]}\n";
    }
    return out;
  }
  if (!authorized(req)) {
    HttpResponse out = text(401, "authentication required\n");
    out.headers.emplace_back("WWW-Authenticate", "Basic realm=\"ferry\", charset=\"UTF-8\"");
    return out;
  }
  if (path == "/metrics") {
    const uint64_t start = uv_hrtime();
    HttpResponse out;
    out.content_type = std::string(MetricsText::kContentType);
    out.body = render_metrics(view());
    ++scrapes_;
    last_scrape_seconds_ = static_cast<double>(uv_hrtime() - start) / 1e9;
    return out;
  }
  if (path == "/v1/status") {
    HttpResponse out;
    out.content_type = "application/json";
    out.body = render_status(view());
    return out;
  }
  if (path == "/") {
    HttpResponse out;
    out.content_type = "text/html; charset=utf-8";
    out.body = std::string(status_page_html());
    out.headers.emplace_back("Content-Security-Policy",
                             "default-src 'none'; script-src 'unsafe-inline'; style-src "
                             "'unsafe-inline'; connect-src 'self'; img-src data:");
    return out;
  }
  return text(404, "not found: try /metrics, /health/live, /health/ready, /v1/status or /\n");
}

}  // namespace ferry::admin
