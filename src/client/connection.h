// One TCP (or TLS) connection from the client to one broker, on a libuv loop.
//
//   Connection c(loop, "127.0.0.1", 9092, options);
//   c.send<ApiKey::list_groups>({}, [](KafkaResult<protocol::ListGroupsResponse> r) { ... });
//
// Lifecycle: idle -> connecting (address resolution, TCP connect, bounded by connect_timeout_ms)
// [-> the TLS handshake, when options.tls is set] -> negotiating (ApiVersions) [-> authenticating
// (SASL, when options.sasl is set)] -> ready; any failure -> failed (sticky: later sends fail with
// the same error; make a new Connection to retry). Requests sent before `ready` wait in a queue.
//
// SASL: SaslHandshake v1 names the mechanism (a broker without it fails the connection with
// UNSUPPORTED_SASL_MECHANISM and the mechanisms it has enabled), then SaslAuthenticate (v1 when
// the broker has it, else v0) carries the mechanism's messages until it is complete (sasl.h).
// A failure fails the connection with SASL_AUTHENTICATION_FAILED and the broker's message. The
// session lifetime of SaslAuthenticate v1 is not acted on: no re-authentication (KIP-368); a
// broker that ends the session closes the connection and the client reconnects.
//
// Versions: ApiVersions is sent at its highest described version (falling back to v0 when the
// broker answers UNSUPPORTED_VERSION); each API then uses the highest version both the broker
// and our message descriptions (protocol/messages.h, Messages<K>) support. A request for an API
// without a common version fails with UNSUPPORTED_VERSION without being sent.
//
// Requests are pipelined: each gets the next correlation id and is written at once, up to
// max_in_flight awaiting responses (later ones wait, in order); responses are matched by
// correlation id and decoded through the same message descriptions. A request
// unanswered after request_timeout_ms fails the whole connection with REQUEST_TIMED_OUT (the
// stream can no longer be trusted to line up), as Kafka's clients do. With
// watchdog_timeout_ms set, the connection also fails once requests have been waiting and no
// byte has arrived for that long (counted from the last byte received or from the moment a
// request was sent while none was waiting, whichever is later).
//
// Threading: loop thread only; every callback runs on the loop thread, never synchronously
// inside send(). Ownership: the caller owns the Connection and may destroy it at any time on
// the loop thread, also from inside one of its callbacks; pending callbacks are then dropped
// without being called (use close() first to have them fail with NETWORK_EXCEPTION). The libuv
// handles finish closing on a later loop turn, so the loop must run after destruction.
// Response fields that view the frame (RecordsRef) are valid only during the callback.
#pragma once

#include <uv.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client/kafka_error.h"
#include "client/sasl.h"
#include "common/uv_timer.h"
#include "net/transport.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "protocol/schema.h"

namespace ferry::tls {
class Context;
}

namespace ferry::client {

struct ConnectionOptions {
  std::string client_id = "ferry";
  std::string software_name = "ferry";  // ApiVersions v3 client_software_name
  std::string software_version = "0";
  uint64_t connect_timeout_ms = 10'000;
  uint64_t request_timeout_ms = 30'000;
  // The watchdog: with requests awaiting responses, a connection that receives no byte for this
  // long fails with NETWORK_EXCEPTION (0: off). It ends a connection that went silent as a
  // whole (a TCP connection dead after a NAT rebind never errors) sooner than
  // request_timeout_ms, which has to leave room for a broker legitimately holding one request.
  uint64_t watchdog_timeout_ms = 0;
  // Requests awaiting a response at once; later ones wait in order until one is answered.
  size_t max_in_flight = 100;
  std::optional<SaslConfig> sasl;  // authenticate after ApiVersions when set
  // TLS (security.protocol SSL or SASL_SSL) when set: the handshake runs right after the TCP
  // connect, before ApiVersions; the server's certificate must chain to the context's CAs and,
  // unless the context disables it, name `host` (endpoint identification). A context is shared
  // by all connections of a client and used on its loop only.
  std::shared_ptr<const tls::Context> tls;
};

class Connection final : private net::TransportSink {
 public:
  template <protocol::ApiKey K>
  using Callback = std::function<void(KafkaResult<typename protocol::Messages<K>::Response>)>;

  Connection(uv_loop_t* loop, std::string host, uint16_t port, ConnectionOptions options);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts connecting if idle; send() calls it too.
  void connect();
  // Fails every pending request with NETWORK_EXCEPTION and closes the socket.
  void close();

  bool ready() const noexcept { return state_ == State::ready; }
  bool failed() const noexcept { return state_ == State::failed; }
  const std::string& host() const noexcept { return host_; }
  uint16_t port() const noexcept { return port_; }
  std::string address() const { return host_ + ":" + std::to_string(port_); }
  // The negotiated version of `key`; -1 before negotiation or when there is no common version.
  int16_t version(protocol::ApiKey key) const noexcept;

  // Sends `req` at the negotiated version of K; `done` receives the decoded response or an error.
  template <protocol::ApiKey K>
  void send(typename protocol::Messages<K>::Request req, Callback<K> done) {
    using Desc = protocol::Messages<K>;
    Call call;
    call.key = K;
    call.encode = [req = std::move(req)](int16_t v, protocol::Writer& w) {
      protocol::encode_message(req, v, protocol::is_flexible(K, v), w);
    };
    call.complete = [done = std::move(done)](KafkaResult<RawResponse> raw) {
      if (!raw) {
        done(std::move(raw).error());
        return;
      }
      typename Desc::Response resp;
      auto st = protocol::decode_message(raw->body, raw->version,
                                         protocol::is_flexible(K, raw->version), resp);
      if (!st) {
        done(KafkaError::local(protocol::ErrorCode::corrupt_message, st.error()));
        return;
      }
      done(std::move(resp));
    };
    submit(std::move(call));
  }

  // Sends `req` expecting no response (Produce with acks=0): `done` runs once the request has
  // been written to the socket (Unit) or the connection failed first.
  template <protocol::ApiKey K>
  void send_oneway(typename protocol::Messages<K>::Request req,
                   std::function<void(KafkaStatus)> done) {
    Call call;
    call.key = K;
    call.oneway = true;
    call.encode = [req = std::move(req)](int16_t v, protocol::Writer& w) {
      protocol::encode_message(req, v, protocol::is_flexible(K, v), w);
    };
    call.complete = [done = std::move(done)](KafkaResult<RawResponse> raw) {
      if (!raw) {
        done(std::move(raw).error());
        return;
      }
      done(Unit{});
    };
    submit(std::move(call));
  }

 private:
  enum class State { idle, connecting, negotiating, authenticating, ready, failed };
  struct RawResponse {
    int16_t version = 0;
    std::span<const std::byte> body;
  };
  using Completion = std::function<void(KafkaResult<RawResponse>)>;
  struct Call {
    protocol::ApiKey key = protocol::ApiKey::api_versions;
    int16_t version = -1;  // -1: the negotiated version
    bool oneway = false;   // no response expected: completes when written
    std::function<void(int16_t version, protocol::Writer&)> encode;
    std::function<void(KafkaResult<RawResponse>)> complete;
  };
  struct InFlight {
    protocol::ApiKey key;
    int16_t version;
    uint64_t deadline_ms;
    std::function<void(KafkaResult<RawResponse>)> complete;
  };

  void submit(Call call);
  void start_connect(const struct sockaddr* addr);
  void on_connected();
  void negotiate(int16_t api_versions_version);
  void on_api_versions(int16_t sent_version, KafkaResult<RawResponse> raw);
  void start_sasl();
  void on_sasl_handshake(KafkaResult<RawResponse> raw);
  void sasl_send(std::string message);
  void on_sasl_authenticate(int16_t sent, KafkaResult<RawResponse> raw);
  void become_ready();
  void dispatch(Call call);
  // Dispatches queued calls while fewer than max_in_flight await responses.
  void dispatch_queued();
  // TransportSink: responses arrive through the transport (plain TCP or TLS).
  std::span<std::byte> read_buffer() override;
  void on_read(std::span<const std::byte> data) override;
  void on_read_end(int status) override;
  // "TLS with host:port: <why>" when the TLS transport failed; "" otherwise.
  std::string tls_failure_text() const;
  void arm_timer();
  void fail(KafkaError error);
  // Completes `complete` with `error` on a later loop turn (from defer_).
  void reject(Completion complete, KafkaError error);
  void flush_rejected();

  uv_loop_t* loop_;
  std::string host_;
  uint16_t port_;
  ConnectionOptions options_;
  State state_ = State::idle;
  KafkaError error_;         // set in State::failed
  uv_tcp_t* tcp_ = nullptr;  // while connecting; then owned by transport_
  std::unique_ptr<net::Transport> transport_;
  struct Resolve;
  Resolve* resolving_ = nullptr;
  UvTimer timer_;  // connect timeout, then the earliest request deadline or the watchdog
  // The watchdog's start: the last byte received, or the send that ended an idle spell.
  uint64_t quiet_since_ms_ = 0;
  UvTimer defer_;  // runs rejected_ on a later loop turn
  std::deque<Call> queued_;
  std::deque<std::pair<Completion, KafkaError>> rejected_;
  std::map<int32_t, InFlight> in_flight_;
  int32_t next_correlation_id_ = 1;
  std::array<int16_t, 128> versions_{};  // by api key; -1 = none
  std::unique_ptr<SaslClient> sasl_;     // during State::authenticating
  std::vector<std::byte> in_;
  std::vector<std::byte> read_chunk_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);  // expires when destroyed
};

}  // namespace ferry::client
