// Broker: start-up, request dispatch, housekeeping and shutdown. See broker.h.
#include "broker/broker.h"

#include "broker/api_table.h"
#include "broker/disk_guard.h"
#include "broker/handlers/sasl_raw.h"
#include "common/bytes.h"
#include "common/log.h"
#include "config/keys.h"
#include "meta/acl_store.h"

namespace ferry::broker {
namespace {

// How often retention and time-based segment rolls run (Kafka's
// log.retention.check.interval.ms default).
constexpr uint64_t kHousekeepingMs = 5 * 60 * 1000;
// How long shutdown waits for in-flight requests before closing their connections.
constexpr uint64_t kDrainDeadlineMs = 5000;
}  // namespace

Broker::Broker(uv_loop_t* loop, config::BrokerConfig config, const Clock& clock,
               meta::MetaStore& meta, storage::LogManager& logs, std::string cluster_id)
    : loop_(loop),
      config_(std::move(config)),
      clock_(clock),
      meta_(meta),
      logs_(logs),
      waiters_(loop),
      authorizer_(authorizer_config(config_)),
      housekeeping_timer_(loop),
      cluster_id_(std::move(cluster_id)) {}

Broker::~Broker() = default;

namespace {

tls::ServerOptions tls_options(const config::BrokerConfig& c) {
  tls::ServerOptions o;
  o.certificate_file = c.ssl_certificate_location;
  o.key_file = c.ssl_key_location;
  o.key_password = c.ssl_key_password;
  o.ca_file = c.ssl_ca_location;
  // The loader accepts only the three values.
  o.client_auth = tls::parse_client_auth(c.ssl_client_auth).ok()
                      ? *tls::parse_client_auth(c.ssl_client_auth)
                      : tls::ClientAuth::none;
  return o;
}

}  // namespace

Status Broker::start() {
  FERRY_TRY(load_acls());
  topics_ = std::make_unique<TopicManager>(config_, meta_, logs_, waiters_);
  topics_->set_quorum(quorum_);
  FERRY_TRY(topics_->load());
  producers_ = std::make_unique<ProducerRegistry>(meta_, *topics_, clock_,
                                                  config_.producer_id_expiration_ms);
  if (quorum_ != nullptr) producers_->set_cluster_node(quorum_->self());
  FERRY_TRY(producers_->load());
  groups_ = std::make_unique<GroupCoordinator>(loop_, config_, meta_, clock_);
  FERRY_TRY(groups_->load());
  disk_guard_ = std::make_unique<DiskGuard>(
      loop_, *topics_, clock_, static_cast<uint64_t>(config_.log_dir_min_free_bytes),
      [this] { return logs_.fs().free_space(logs_.logs_dir()); });
  disk_guard_->start();
  FERRY_TRY(start_authenticator());

  net::ServerOptions so;
  so.limits.max_request_bytes = config_.socket_request_max_bytes;
  so.limits.max_pending_bytes = static_cast<size_t>(config_.connection_max_pending_bytes);
  so.max_connections = static_cast<size_t>(config_.max_connections);
  so.max_connections_per_ip = static_cast<size_t>(config_.max_connections_per_ip);
  if (auto overrides = config::parse_connection_overrides(config_.max_connections_per_ip_overrides);
      overrides) {
    for (const auto& [host, count] : *overrides) {
      so.max_connections_per_ip_overrides[host] = static_cast<size_t>(count);
    }
  } else {
    return std::move(overrides).error();
  }
  so.limits.idle_ms = static_cast<uint64_t>(config_.connections_max_idle_ms);
  so.limits.frame_timeout_ms = static_cast<uint64_t>(config_.request_frame_timeout_ms);
  so.queued_max_request_bytes = static_cast<uint64_t>(config_.queued_max_request_bytes);
  so.budget = std::make_shared<net::MemoryBudget>(so.queued_max_request_bytes);
  // max.connections and max.connections.per.ip count every listener's connections together.
  so.table = std::make_shared<net::ConnectionTable>();
  for (config::ListenerConfig& lc : config::listener_configs(config_)) {
    const std::optional<net::SecurityProtocol> protocol = net::parse_security_protocol(lc.name);
    if (!protocol)
      return Error(Errc::invalid_argument, "listener " + lc.name + ": unknown protocol");
    net::ServerOptions lo = so;
    if (*protocol == net::SecurityProtocol::ssl || *protocol == net::SecurityProtocol::sasl_ssl) {
      if (!tls_) {
        auto ctx = tls::ReloadableServerContext::create(tls_options(config_));
        if (!ctx) {
          return Error(ctx.error().code(), "listener " + lc.name + "://" + lc.bind.to_string() +
                                               ": " + ctx.error().message());
        }
        tls_ = std::move(*ctx);
        FERRY_LOG(info, "broker", "TLS certificate %s, ssl.client.auth=%s",
                  tls_->current()->summary().c_str(), config_.ssl_client_auth.c_str());
      }
      lo.tls = tls_;
    }
    lo.host = lc.bind.host;
    lo.port = lc.bind.port;
    lo.listener = net::ListenerInfo{lc.name, *protocol};
    int32_t listener_max = 0;
    switch (*protocol) {
      case net::SecurityProtocol::plaintext:
        listener_max = config_.plaintext_max_connections;
        break;
      case net::SecurityProtocol::ssl: listener_max = config_.ssl_max_connections; break;
      case net::SecurityProtocol::sasl_plaintext:
        listener_max = config_.sasl_plaintext_max_connections;
        break;
      case net::SecurityProtocol::sasl_ssl: listener_max = config_.sasl_ssl_max_connections; break;
    }
    lo.max_listener_connections = static_cast<size_t>(listener_max);
    const bool sasl = *protocol == net::SecurityProtocol::sasl_plaintext ||
                      *protocol == net::SecurityProtocol::sasl_ssl;
    if (sasl) {
      lo.limits.auth_timeout_ms = static_cast<uint64_t>(config_.sasl_authentication_timeout_ms);
      lo.limits.max_unauthenticated_request_bytes = config_.sasl_server_max_receive_size;
    }
    if (*protocol == net::SecurityProtocol::sasl_plaintext &&
        authenticator_->enabled(auth::Mechanism::plain)) {
      FERRY_LOG(warn, "broker",
                "listener %s offers SASL PLAIN without TLS: passwords cross the network in "
                "clear; use SASL_SSL or only the SCRAM mechanisms on untrusted networks",
                lc.name.c_str());
    }
    auto server = std::make_unique<net::Server>(
        loop_, std::move(lo), [this](net::Connection& c, net::ResponseSlot slot, Buffer frame) {
          on_request(std::move(slot), std::move(frame), c.session());
        });
    if (auto st = server->listen(); !st) {
      return Error(st.error().code(), "listener " + lc.name + "://" + lc.bind.to_string() + ": " +
                                          st.error().message());
    }
    // Listening on port 0 (tests): clients must be told the port actually bound.
    if (lc.advertised.port == 0) lc.advertised.port = server->port();
    // "serving on HOST:PORT" is what scripts wait for (tests/cli/lib.sh).
    FERRY_LOG(info, "broker", "%s listener serving on %s:%u (advertised %s)", lc.name.c_str(),
              lc.bind.host.c_str(), static_cast<unsigned>(server->port()),
              lc.advertised.to_string().c_str());
    listeners_.push_back({std::move(lc), std::move(server)});
  }
  config_.advertised = listeners_.front().config.advertised;
  housekeeping_timer_.start(kHousekeepingMs, [this] { housekeeping(); });
  housekeeping_timer_.unref();
  storage::CleanerConfig cc;
  cc.enable = config_.log_cleaner_enable;
  cc.dedupe_buffer_bytes = static_cast<uint64_t>(config_.log_cleaner_dedupe_buffer_size);
  cc.io_max_bytes_per_second = static_cast<uint64_t>(config_.log_cleaner_io_max_bytes_per_second);
  cc.backoff_ms = config_.log_cleaner_backoff_ms;
  cleaner_ = std::make_unique<storage::Cleaner>(loop_, cc, &clock_);
  cleaner_->start([this] {
    std::vector<std::shared_ptr<storage::Log>> out;
    for (const auto& [tp, log] : logs_.logs()) out.push_back(log);
    return out;
  });
  FERRY_LOG(info, "broker", "node %d up with %zu listener(s), cluster %s, data in %s",
            config_.node_id, listeners_.size(), cluster_id_.c_str(), config_.data_dir.c_str());
  return ok_status();
}

authz::AuthorizerConfig Broker::authorizer_config(const config::BrokerConfig& c) {
  authz::AuthorizerConfig out;
  out.enabled = c.authorizer_enabled;
  std::string_view rest = c.super_users;
  while (!rest.empty()) {
    const size_t cut = rest.find(';');
    std::string_view item = config::trim(rest.substr(0, cut));
    if (!item.empty()) out.super_users.emplace_back(item);
    if (cut == std::string_view::npos) break;
    rest.remove_prefix(cut + 1);
  }
  return out;
}

Status Broker::load_acls() {
  auto rows = meta::load_acls(meta_);
  if (!rows) return std::move(rows).error();
  std::vector<authz::AclBinding> acls;
  for (const auto& row : *rows) {
    if (auto b = authz::from_record(row)) {
      acls.push_back(std::move(*b));
    } else {
      FERRY_LOG(warn, "authz", "ignoring an ACL row of meta.db this build cannot read (%s %s)",
                log::escape(row.principal).c_str(), log::escape(row.resource_name).c_str());
    }
  }
  authorizer_.reset(std::move(acls));
  FERRY_LOG(info, "authz", "authorizer %s, %zu ACLs, %zu super users",
            authorizer_.enabled() ? "enabled" : "disabled", authorizer_.size(),
            authorizer_config(config_).super_users.size());
  return ok_status();
}

Status Broker::start_authenticator() {
  auth::AuthenticatorOptions ao;
  auto mechanisms = auth::parse_mechanism_list(config_.sasl_enabled_mechanisms);
  if (!mechanisms) return std::move(mechanisms).error();
  ao.enabled = std::move(mechanisms).value();
  ao.max_failures_per_address = static_cast<uint32_t>(config_.sasl_failed_authentication_limit);
  ao.failure_window_ms = static_cast<uint64_t>(config_.sasl_failed_authentication_window_ms);
  authenticator_ = std::make_unique<auth::Authenticator>(std::move(ao));
  auto rows = meta_.list_scram_credentials();
  if (!rows) return std::move(rows).error();
  authenticator_->credentials().load(*rows);
  FERRY_LOG(info, "broker", "SASL: %zu SCRAM credential(s) loaded; mechanisms %s",
            authenticator_->credentials().size(), config_.sasl_enabled_mechanisms.c_str());
  return ok_status();
}

Status Broker::reload_tls() {
  if (!tls_) return ok_status();
  FERRY_TRY(tls_->reload());
  FERRY_LOG(info, "broker", "TLS certificate reloaded: %s", tls_->current()->summary().c_str());
  return ok_status();
}

uint16_t Broker::port() const noexcept {
  return listeners_.empty() ? 0 : listeners_.front().server->port();
}

uint16_t Broker::port(std::string_view listener_name) const noexcept {
  for (const Listener& l : listeners_) {
    if (l.config.name == listener_name) return l.server->port();
  }
  return 0;
}

const config::HostPort& Broker::advertised_for(const net::Session& session) const noexcept {
  for (const Listener& l : listeners_) {
    if (l.config.name == session.listener.name) return l.config.advertised;
  }
  return config_.advertised;
}

void Broker::on_request(net::ResponseSlot slot, Buffer frame,
                        std::shared_ptr<net::Session> session) {
  const uint64_t start_ns = uv_hrtime();
  const std::string& peer = session->peer;
  // After a SaslHandshake v0 the client's tokens come as raw frames without a request header.
  if (session->raw_sasl_tokens && session->auth == net::AuthState::in_progress) {
    handle_sasl_raw_token(*this, std::move(slot), std::move(frame), std::move(session));
    return;
  }
  size_t header_bytes = 0;
  auto header = protocol::decode_request_header(frame, header_bytes);
  if (!header) {
    // What the frame claims to be: its first four bytes (frames are at least 8 bytes long).
    const int16_t key = load_i16(frame.data());
    const int16_t version = load_i16(frame.data() + 2);
    std::string_view name = protocol::api_name(key);
    if (name.empty()) name = "an unknown API";
    FERRY_LOG_RATELIMITED(warn, "broker", "unreadable request header",
                          "unreadable request header from %s (claims %.*s, key %d v%d): %s; "
                          "closing its connection",
                          peer.c_str(), static_cast<int>(name.size()), name.data(), key, version,
                          log::escape(header.error().message()).c_str());
    ++metrics_->requests_refused;
    slot.close_connection("unreadable request header");
    return;
  }
  // Client-supplied strings go through log::escape (only when a line is written).
  auto client_id = [&header] {
    return header->client_id ? log::escape(*header->client_id) : std::string("-");
  };
  const ApiHandler* h = find_api_handler(header->api_key);
  if (h == nullptr) {
    FERRY_LOG_RATELIMITED(warn, "broker", "unknown API key",
                          "client %s at %s sent unknown API key %d; closing its connection",
                          client_id().c_str(), peer.c_str(), header->api_key);
    ++metrics_->requests_refused;
    slot.close_connection("unknown API key");
    return;
  }
  const int16_t v = header->api_version;
  // ApiVersions answers any version itself (UNSUPPORTED_VERSION in the v0 layout).
  if (h->key != protocol::ApiKey::api_versions && (v < h->min_version || v > h->max_version)) {
    FERRY_LOG_RATELIMITED(warn, "broker", "unsupported API version",
                          "client %s at %s sent %.*s v%d (supported %d-%d); closing its "
                          "connection",
                          client_id().c_str(), peer.c_str(),
                          static_cast<int>(protocol::api_name(header->api_key).size()),
                          protocol::api_name(header->api_key).data(), v, h->min_version,
                          h->max_version);
    ++metrics_->requests_refused;
    slot.close_connection("unsupported version");
    return;
  }
  // Before a SASL listener's client has authenticated, only these three APIs (Kafka's rule).
  if (session->unauthenticated_sasl() && h->key != protocol::ApiKey::api_versions &&
      h->key != protocol::ApiKey::sasl_handshake && h->key != protocol::ApiKey::sasl_authenticate) {
    FERRY_LOG_RATELIMITED(warn, "broker", "request before authentication",
                          "client %s at %s sent %.*s before authenticating on listener %s; "
                          "closing its connection",
                          client_id().c_str(), peer.c_str(),
                          static_cast<int>(protocol::api_name(header->api_key).size()),
                          protocol::api_name(header->api_key).data(),
                          session->listener.name.c_str());
    slot.close_connection("request before authentication");
    return;
  }
  FERRY_LOG(trace, "broker", "%.*s v%d correlation %d from %s at %s",
            static_cast<int>(protocol::api_name(header->api_key).size()),
            protocol::api_name(header->api_key).data(), v, header->correlation_id,
            client_id().c_str(), peer.c_str());
  Request r;
  r.header = std::move(*header);
  r.frame = std::move(frame);
  r.body_offset = header_bytes;
  r.slot = std::move(slot);
  r.session = std::move(session);
  r.timer = std::make_shared<RequestTimer>(metrics_, r.header.api_key, start_ns);
  // The one authorization check point: what Kafka checks for this API (authz/api_rules.h).
  if (authz::check_request(*this, h->authz, h->answer_all, r) == authz::Gate::answered) return;
  h->handle(*this, std::move(r));
}

std::vector<Broker::ListenerInfo> Broker::listener_info() const {
  std::vector<ListenerInfo> out;
  for (const Listener& l : listeners_) {
    ListenerInfo info;
    info.name = l.config.name;
    info.bind = l.config.bind.to_string();
    info.port = l.server ? l.server->port() : 0;
    info.listening = l.server != nullptr && !stopping_;
    info.connections = l.server ? l.server->connection_count() : 0;
    out.push_back(std::move(info));
  }
  return out;
}

void Broker::housekeeping() {
  meta_.restore_space_reserve();
  groups_->expire_offsets(clock_.now_ms());
  producers_->housekeeping();
  for (const auto& [tp, log] : logs_.logs()) {
    if (auto st = log->maybe_roll(); !st) {
      FERRY_LOG(warn, "broker", "rolling %s: %s", storage::partition_dir_name(tp).c_str(),
                st.error().to_string().c_str());
    }
  }
  auto r = logs_.apply_retention(
      [this](const storage::TopicPartition& tp) { return topics_->retention_floor(tp); });
  if (!r) {
    FERRY_LOG(warn, "broker", "retention: %s", r.error().to_string().c_str());
  } else if (r->segments_deleted > 0) {
    FERRY_LOG(info, "broker", "retention deleted %zu segments (%llu bytes)", r->segments_deleted,
              static_cast<unsigned long long>(r->bytes_deleted));
  }
  housekeeping_timer_.start(kHousekeepingMs, [this] { housekeeping(); });
  housekeeping_timer_.unref();
}

void Broker::shutdown(std::function<void(Status)> done) {
  if (stopping_) return;
  stopping_ = true;
  FERRY_LOG(info, "broker", "shutting down");
  housekeeping_timer_.stop();
  if (cleaner_) cleaner_->stop();
  if (disk_guard_) disk_guard_->stop();
  shutdown_done_ = std::move(done);
  if (listeners_.empty()) {
    finish_shutdown();
    return;
  }
  for (Listener& l : listeners_) l.server->stop_accepting();
  waiters_.complete_all();
  if (groups_) groups_->shutdown();
  drain_timer_ = std::make_unique<UvTimer>(loop_);
  drain_timer_->start(kDrainDeadlineMs, [this] {
    size_t open = 0;
    for (const Listener& l : listeners_) open += l.server->connection_count();
    FERRY_LOG(warn, "broker", "closing %zu connections with requests still in flight", open);
    finish_shutdown();
  });
  listeners_draining_ = listeners_.size();
  for (Listener& l : listeners_) {
    l.server->drain([this] {
      if (--listeners_draining_ == 0) finish_shutdown();
    });
  }
}

// Runs once: after the connections drained or the deadline passed.
void Broker::finish_shutdown() {
  if (!shutdown_done_) return;
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  drain_timer_.reset();
  for (Listener& l : listeners_) l.server->close_all();
  if (!producers_) {
    done(ok_status());
    return;
  }
  producers_->close([done = std::move(done)] { done(ok_status()); });
}

}  // namespace ferry::broker
