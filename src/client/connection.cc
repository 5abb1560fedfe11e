// Connection: connect, ApiVersions negotiation, pipelined requests, framing and timeouts.
#include "client/connection.h"

#include <algorithm>
#include <cstring>

#include "common/bytes.h"
#include "net/tls_transport.h"
#include "tls/engine.h"

namespace ferry::client {

using protocol::ApiKey;
using protocol::ErrorCode;
using protocol::Messages;

namespace {

uint64_t now_ms(uv_loop_t* loop) { return uv_now(loop); }

std::string uv_text(int status) { return uv_strerror(status); }

}  // namespace

// An address resolution in progress. libuv calls back even after uv_cancel, so the request
// outlives its Connection; `owner` is cleared when the Connection goes first.
struct Connection::Resolve {
  uv_getaddrinfo_t req{};
  Connection* owner = nullptr;
};

Connection::Connection(uv_loop_t* loop, std::string host, uint16_t port, ConnectionOptions options)
    : loop_(loop),
      host_(std::move(host)),
      port_(port),
      options_(std::move(options)),
      timer_(loop),
      defer_(loop) {
  versions_.fill(-1);
}

Connection::~Connection() {
  if (resolving_ != nullptr) {
    resolving_->owner = nullptr;
    uv_cancel(reinterpret_cast<uv_req_t*>(&resolving_->req));
  }
  if (tcp_ != nullptr) {
    tcp_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  }
  transport_.reset();  // closes the socket
}

int16_t Connection::version(ApiKey key) const noexcept {
  const auto k = static_cast<size_t>(static_cast<int16_t>(key));
  return k < versions_.size() ? versions_[k] : int16_t{-1};
}

void Connection::connect() {
  if (state_ != State::idle) return;
  state_ = State::connecting;
  timer_.start(options_.connect_timeout_ms, [this] {
    fail(KafkaError::local(ErrorCode::request_timed_out,
                           "connect to " + address() + " timed out after " +
                               std::to_string(options_.connect_timeout_ms) + " ms"));
  });
  // Numeric addresses are used directly: no resolver, so no libuv thread pool.
  sockaddr_storage addr{};
  if (uv_ip4_addr(host_.c_str(), port_, reinterpret_cast<sockaddr_in*>(&addr)) == 0 ||
      uv_ip6_addr(host_.c_str(), port_, reinterpret_cast<sockaddr_in6*>(&addr)) == 0) {
    start_connect(reinterpret_cast<const sockaddr*>(&addr));
    return;
  }
  auto* r = new Resolve;
  r->owner = this;
  r->req.data = r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const std::string port = std::to_string(port_);
  int rc = uv_getaddrinfo(
      loop_, &r->req,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* rr = static_cast<Resolve*>(req->data);
        Connection* self = rr->owner;
        delete rr;
        if (self == nullptr) {
          uv_freeaddrinfo(res);
          return;
        }
        self->resolving_ = nullptr;
        if (status < 0 || res == nullptr) {
          uv_freeaddrinfo(res);
          self->fail(KafkaError::local(ErrorCode::network_exception,
                                       "resolve " + self->host_ + ": " + uv_text(status)));
          return;
        }
        sockaddr_storage first{};
        std::memcpy(&first, res->ai_addr, res->ai_addrlen);
        uv_freeaddrinfo(res);
        self->start_connect(reinterpret_cast<const sockaddr*>(&first));
      },
      host_.c_str(), port.c_str(), &hints);
  if (rc < 0) {
    delete r;
    fail(KafkaError::local(ErrorCode::network_exception, "resolve " + host_ + ": " + uv_text(rc)));
    return;
  }
  resolving_ = r;
}

void Connection::start_connect(const sockaddr* addr) {
  tcp_ = new uv_tcp_t;
  uv_tcp_init(loop_, tcp_);
  tcp_->data = this;
  uv_tcp_nodelay(tcp_, 1);
  auto* req = new uv_connect_t;
  int rc = uv_tcp_connect(req, tcp_, addr, [](uv_connect_t* r, int status) {
    auto* self = static_cast<Connection*>(r->handle->data);
    delete r;
    if (self == nullptr) return;  // destroyed meanwhile
    if (status < 0) {
      self->fail(KafkaError::local(ErrorCode::network_exception,
                                   "connect to " + self->address() + ": " + uv_text(status)));
      return;
    }
    self->on_connected();
  });
  if (rc < 0) {
    delete req;
    fail(KafkaError::local(ErrorCode::network_exception,
                           "connect to " + address() + ": " + uv_text(rc)));
  }
}

void Connection::on_connected() {
  uv_tcp_t* tcp = tcp_;
  tcp_ = nullptr;
  if (options_.tls) {
    auto engine = tls::Engine::client(options_.tls, host_);
    if (!engine) {
      tcp->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(tcp),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
      fail(KafkaError::local(ErrorCode::network_exception,
                             "TLS to " + address() + ": " + engine.error().message()));
      return;
    }
    transport_ = std::make_unique<net::TlsTransport>(tcp, std::move(*engine));
  } else {
    transport_ = std::make_unique<net::TcpTransport>(tcp);
  }
  transport_->set_sink(this);
  if (const int rc = transport_->start_reading(); rc != 0) {
    fail(KafkaError::local(ErrorCode::network_exception,
                           "read from " + address() + ": " + uv_text(rc)));
    return;
  }
  // With TLS, ApiVersions waits in the transport until the handshake is done.
  state_ = State::negotiating;
  negotiate(Messages<ApiKey::api_versions>::max_version);
}

void Connection::negotiate(int16_t v) {
  protocol::ApiVersionsRequest req;
  req.client_software_name = options_.software_name;
  req.client_software_version = options_.software_version;
  Call call;
  call.key = ApiKey::api_versions;
  call.version = v;
  call.encode = [req](int16_t version, protocol::Writer& w) {
    protocol::encode_message(req, version, protocol::is_flexible(ApiKey::api_versions, version), w);
  };
  call.complete = [this, v](KafkaResult<RawResponse> raw) { on_api_versions(v, std::move(raw)); };
  dispatch(std::move(call));
}

void Connection::on_api_versions(int16_t sent, KafkaResult<RawResponse> raw) {
  if (!raw) return;  // the connection has failed already; fail() reported it
  protocol::ApiVersionsResponse resp;
  // A broker that does not know `sent` answers in the v0 layout.
  auto st = protocol::decode_message(raw->body, sent,
                                     protocol::is_flexible(ApiKey::api_versions, sent), resp);
  if (st && resp.error_code == protocol::wire(ErrorCode::unsupported_version) && sent > 0) {
    // Some brokers (librdkafka's mock cluster) answer in the layout of the version asked and
    // list what they support: retry at their highest ApiVersions version, else at v0.
    int16_t retry = 0;
    for (const auto& av : resp.api_keys) {
      if (av.api_key == static_cast<int16_t>(ApiKey::api_versions) && av.max_version < sent &&
          av.max_version >= 0)
        retry = av.max_version;
    }
    negotiate(retry);
    return;
  }
  if (!st && sent > 0) {
    protocol::ApiVersionsResponse v0;
    if (protocol::decode_message(raw->body, 0, false, v0) &&
        v0.error_code == protocol::wire(ErrorCode::unsupported_version)) {
      negotiate(0);
      return;
    }
  }
  if (!st) {
    fail(KafkaError::local(ErrorCode::corrupt_message, "ApiVersions: " + st.error().to_string()));
    return;
  }
  if (resp.error_code != 0) {
    fail(KafkaError::broker(resp.error_code));
    return;
  }
  protocol::for_each_described_api([&](auto k) {
    constexpr ApiKey key = decltype(k)::value;
    using Desc = Messages<key>;
    for (const auto& av : resp.api_keys) {
      if (av.api_key != static_cast<int16_t>(key)) continue;
      const auto hi = std::min<int16_t>(av.max_version, Desc::max_version);
      const auto lo = std::max<int16_t>(av.min_version, Desc::min_version);
      if (hi >= lo) versions_[static_cast<size_t>(static_cast<int16_t>(key))] = hi;
    }
  });
  if (options_.sasl) {
    start_sasl();
    return;
  }
  become_ready();
}

void Connection::become_ready() {
  sasl_.reset();
  state_ = State::ready;
  dispatch_queued();
}

void Connection::dispatch_queued() {
  while (state_ == State::ready && !queued_.empty() &&
         in_flight_.size() < std::max<size_t>(options_.max_in_flight, 1)) {
    Call c = std::move(queued_.front());
    queued_.pop_front();
    dispatch(std::move(c));
  }
}

// SASL inside Kafka framing: SaslHandshake v1, then SaslAuthenticate rounds. These calls go
// straight to dispatch(); requests sent meanwhile stay queued until become_ready().
void Connection::start_sasl() {
  state_ = State::authenticating;
  const auto& cfg = *options_.sasl;
  const std::string mech(sasl_mechanism_name(cfg.mechanism));
  if (version(ApiKey::sasl_handshake) < 1 || version(ApiKey::sasl_authenticate) < 0) {
    fail(KafkaError::local(ErrorCode::unsupported_sasl_mechanism,
                           "broker " + address() +
                               " does not offer SASL authentication (SaslHandshake v1 and "
                               "SaslAuthenticate); cannot authenticate with " +
                               mech));
    return;
  }
  protocol::SaslHandshakeRequest req;
  req.mechanism = mech;
  Call call;
  call.key = ApiKey::sasl_handshake;
  call.version = 1;
  call.encode = [req = std::move(req)](int16_t v, protocol::Writer& w) {
    protocol::encode_message(req, v, false, w);
  };
  call.complete = [this](KafkaResult<RawResponse> raw) { on_sasl_handshake(std::move(raw)); };
  dispatch(std::move(call));
}

void Connection::on_sasl_handshake(KafkaResult<RawResponse> raw) {
  if (!raw) return;  // the connection has failed already
  protocol::SaslHandshakeResponse resp;
  if (auto st = protocol::decode_message(raw->body, raw->version, false, resp); !st) {
    fail(KafkaError::local(ErrorCode::corrupt_message, "SaslHandshake: " + st.error().to_string()));
    return;
  }
  const std::string mech(sasl_mechanism_name(options_.sasl->mechanism));
  if (resp.error_code != 0) {
    std::string enabled;
    for (const auto& m : resp.mechanisms) enabled += (enabled.empty() ? "" : ", ") + m;
    if (enabled.empty()) enabled = "none";
    fail(KafkaError::broker(resp.error_code, "broker " + address() + " does not accept SASL " +
                                                 mech + "; its enabled mechanisms: " + enabled));
    return;
  }
  sasl_ = make_sasl_client(*options_.sasl);
  auto first = sasl_->initial();
  if (!first) {
    fail(KafkaError::local(ErrorCode::sasl_authentication_failed,
                           "SASL with " + address() + ": " + first.error().message()));
    return;
  }
  sasl_send(std::move(first).value());
}

void Connection::sasl_send(std::string message) {
  const int16_t v = version(ApiKey::sasl_authenticate);
  protocol::SaslAuthenticateRequest req;
  req.auth_bytes.resize(message.size());
  std::memcpy(req.auth_bytes.data(), message.data(), message.size());
  Call call;
  call.key = ApiKey::sasl_authenticate;
  call.version = v;
  call.encode = [req = std::move(req)](int16_t version, protocol::Writer& w) {
    protocol::encode_message(req, version,
                             protocol::is_flexible(ApiKey::sasl_authenticate, version), w);
  };
  call.complete = [this, v](KafkaResult<RawResponse> raw) {
    on_sasl_authenticate(v, std::move(raw));
  };
  dispatch(std::move(call));
}

void Connection::on_sasl_authenticate(int16_t sent, KafkaResult<RawResponse> raw) {
  if (!raw) return;  // the connection has failed already
  protocol::SaslAuthenticateResponse resp;
  if (auto st = protocol::decode_message(
          raw->body, sent, protocol::is_flexible(ApiKey::sasl_authenticate, sent), resp);
      !st) {
    fail(KafkaError::local(ErrorCode::corrupt_message,
                           "SaslAuthenticate: " + st.error().to_string()));
    return;
  }
  if (resp.error_code != 0) {
    fail(KafkaError::broker(resp.error_code, resp.error_message.value_or("")));
    return;
  }
  const std::string_view challenge(reinterpret_cast<const char*>(resp.auth_bytes.data()),
                                   resp.auth_bytes.size());
  auto next = sasl_->on_challenge(challenge);
  if (!next) {
    fail(KafkaError::local(ErrorCode::sasl_authentication_failed,
                           "SASL with " + address() + ": " + next.error().message()));
    return;
  }
  if (!next->has_value()) {
    become_ready();
    return;
  }
  sasl_send(std::move(**next));
}

void Connection::submit(Call call) {
  switch (state_) {
    case State::ready:
      queued_.push_back(std::move(call));
      dispatch_queued();
      return;
    case State::failed: reject(std::move(call.complete), error_); return;
    case State::idle:
      queued_.push_back(std::move(call));
      connect();
      return;
    case State::connecting:
    case State::negotiating:
    case State::authenticating: queued_.push_back(std::move(call)); return;
  }
}

void Connection::dispatch(Call call) {
  const int16_t v = call.version >= 0 ? call.version : version(call.key);
  if (v < 0) {
    reject(std::move(call.complete),
           KafkaError::local(ErrorCode::unsupported_version,
                             "broker " + address() + " supports no version of " +
                                 std::string(protocol::api_name(static_cast<int16_t>(call.key))) +
                                 " that this client describes"));
    return;
  }
  const int32_t id = next_correlation_id_++;
  // A one-way request keeps its completion with the write: it is done once written.
  auto frame = std::make_shared<std::vector<std::byte>>();
  protocol::Writer w(*frame);
  const size_t mark = w.reserve_size();
  protocol::encode_request_header({static_cast<int16_t>(call.key), v, id, options_.client_id}, w);
  call.encode(v, w);
  w.patch_size(mark);
  Completion oneway_done;
  if (call.oneway) {
    oneway_done = std::move(call.complete);
  } else {
    if (in_flight_.empty()) quiet_since_ms_ = now_ms(loop_);  // nothing was awaited until now
    in_flight_.emplace(id, InFlight{call.key, v, now_ms(loop_) + options_.request_timeout_ms,
                                    std::move(call.complete)});
  }
  const std::span<const std::byte> piece(*frame);
  auto written = [this, life = std::weak_ptr<int>(life_), frame, oneway_done, v](int status) {
    if (life.expired()) return;  // destroyed: its callbacks are dropped
    if (state_ == State::failed) {
      // Closed by fail() (the write was cancelled): a one-way request still fails.
      if (oneway_done) {
        oneway_done(KafkaError::local(ErrorCode::network_exception,
                                      "connection closed before the request was sent"));
      }
      return;
    }
    KafkaError e;
    if (status < 0) {
      const std::string tls_failure = tls_failure_text();
      e = KafkaError::local(
          ErrorCode::network_exception,
          !tls_failure.empty() ? tls_failure : "write to " + address() + ": " + uv_text(status));
    }
    if (status < 0 && status != UV_ECANCELED) fail(e);
    if (life.expired()) return;
    // Last: the completion may destroy the connection.
    if (oneway_done) {
      if (status < 0) {
        oneway_done(e);
      } else {
        oneway_done(RawResponse{v, {}});
      }
    }
  };
  const int rc = transport_->write(std::span(&piece, 1), std::move(written));
  if (rc < 0) {
    // Failed on a later loop turn: completions never run inside send().
    auto e = KafkaError::local(ErrorCode::network_exception,
                               "write to " + address() + ": " + uv_text(rc));
    if (oneway_done) reject(std::move(oneway_done), e);
    defer_.start(0, [this, e] { fail(e); });
    return;
  }
  arm_timer();
}

void Connection::arm_timer() {
  if (state_ == State::connecting || state_ == State::failed) return;
  if (in_flight_.empty()) {
    timer_.stop();
    return;
  }
  // Correlation ids grow with send time and the timeout is fixed: the first is the earliest.
  const auto& first = in_flight_.begin()->second;
  const uint64_t now = now_ms(loop_);
  const uint64_t wait = first.deadline_ms > now ? first.deadline_ms - now : 0;
  uint64_t watchdog_wait = UINT64_MAX;
  if (options_.watchdog_timeout_ms > 0) {
    const uint64_t due = quiet_since_ms_ + options_.watchdog_timeout_ms;
    watchdog_wait = due > now ? due - now : 0;
  }
  if (watchdog_wait < wait) {
    // Bytes arriving meanwhile move quiet_since_ms_ without re-arming: checked when it fires.
    timer_.start(watchdog_wait, [this] {
      if (now_ms(loop_) < quiet_since_ms_ + options_.watchdog_timeout_ms) {
        arm_timer();
        return;
      }
      fail(KafkaError::local(ErrorCode::network_exception,
                             "watchdog: no byte from " + address() + " for " +
                                 std::to_string(options_.watchdog_timeout_ms) + " ms with " +
                                 std::to_string(in_flight_.size()) +
                                 " requests unanswered; closing the connection"));
    });
    return;
  }
  const std::string name(protocol::api_name(static_cast<int16_t>(first.key)));
  timer_.start(wait, [this, name] {
    fail(KafkaError::local(ErrorCode::request_timed_out,
                           name + " to " + address() + " got no response within " +
                               std::to_string(options_.request_timeout_ms) + " ms"));
  });
}

std::span<std::byte> Connection::read_buffer() {
  if (read_chunk_.empty()) read_chunk_.resize(64 * 1024);
  return read_chunk_;
}

std::string Connection::tls_failure_text() const {
  const auto* tls = dynamic_cast<const net::TlsTransport*>(transport_.get());
  if (tls == nullptr || tls->failure().empty()) return {};
  return "TLS with " + address() + ": " + tls->failure();
}

void Connection::on_read_end(int status) {
  std::string why = tls_failure_text();
  if (why.empty() && status == UV_EOF) {
    why = "connection to " + address() + " closed by the broker";
  } else if (why.empty()) {
    why = "read from " + address() + ": " + uv_text(status);
  }
  fail(KafkaError::local(ErrorCode::network_exception, why));
}

// Frames are size:int32 correlation_id:int32 [TAG_BUFFER] body. Responses are matched by
// correlation id; a frame with an unknown id means the stream is out of step: fail.
void Connection::on_read(std::span<const std::byte> data) {
  if (!data.empty()) quiet_since_ms_ = now_ms(loop_);
  in_.insert(in_.end(), data.begin(), data.end());
  std::weak_ptr<int> life = life_;
  size_t pos = 0;
  while (in_.size() - pos >= 4) {
    const int32_t size = load_i32(in_.data() + pos);
    if (size < 4) {
      fail(KafkaError::local(ErrorCode::corrupt_message,
                             "bad response frame size " + std::to_string(size)));
      return;
    }
    if (in_.size() - pos - 4 < static_cast<size_t>(size)) break;
    std::span<const std::byte> frame(in_.data() + pos + 4, static_cast<size_t>(size));
    pos += 4 + static_cast<size_t>(size);
    protocol::Reader r(frame);
    const int32_t id = r.i32();
    auto it = in_flight_.find(id);
    if (it == in_flight_.end()) {
      fail(KafkaError::local(ErrorCode::corrupt_message,
                             "response with unknown correlation id " + std::to_string(id)));
      return;
    }
    InFlight call = std::move(it->second);
    in_flight_.erase(it);
    if (call.key != ApiKey::api_versions && protocol::is_flexible(call.key, call.version))
      r.skip_tag_buffer();
    if (!r.ok()) {
      fail(KafkaError::local(ErrorCode::corrupt_message, "truncated response header"));
      return;
    }
    arm_timer();
    // The body views in_, which stays untouched until the callback returns.
    call.complete(RawResponse{call.version, frame.subspan(r.position())});
    if (life.expired()) return;  // the callback destroyed this connection
    if (state_ == State::failed) return;
    dispatch_queued();
  }
  in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(pos));
}

void Connection::close() {
  fail(KafkaError::local(ErrorCode::network_exception, "connection to " + address() + " closed"));
}

void Connection::fail(KafkaError error) {
  if (state_ == State::failed) return;
  state_ = State::failed;
  error_ = std::move(error);
  timer_.stop();
  if (tcp_ != nullptr) {
    tcp_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    tcp_ = nullptr;
  }
  // May run inside a transport callback: the transports allow being freed there.
  transport_.reset();
  in_.clear();
  auto in_flight = std::move(in_flight_);
  in_flight_.clear();
  std::weak_ptr<int> life = life_;
  for (auto& [id, call] : in_flight) {
    call.complete(KafkaError(error_));
    if (life.expired()) return;
  }
  auto queued = std::move(queued_);
  queued_.clear();
  for (auto& c : queued) reject(std::move(c.complete), error_);
}

void Connection::reject(Completion complete, KafkaError error) {
  rejected_.emplace_back(std::move(complete), std::move(error));
  defer_.start(0, [this] { flush_rejected(); });
}

void Connection::flush_rejected() {
  std::weak_ptr<int> life = life_;
  while (!rejected_.empty()) {
    auto [complete, error] = std::move(rejected_.front());
    rejected_.pop_front();
    complete(std::move(error));
    if (life.expired()) return;
  }
}

}  // namespace ferry::client
