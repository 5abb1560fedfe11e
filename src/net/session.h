// Who is on the other end of one connection: peer address, the listener it came in on, the
// security protocol of that listener, the authenticated principal and where authentication
// stands. Every request handler sees its connection's Session (broker/request.h).
//
// The listener comes from the broker's `listeners` (one net::Server per listener). Until a
// mechanism authenticates the client, the principal is User:ANONYMOUS with auth state `none`.
//
// Ownership and lifetime: the Connection creates its Session when it is accepted and holds it
// in a shared_ptr; each request holds another reference for as long as its handler keeps the
// request. A handler answering after its connection closed therefore still reads a valid (if
// stale) Session; whether the client is still there is ResponseSlot::connected()'s answer, not
// the Session's.
//
// Threading: created, read and changed only on the loop thread that owns the connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::net {

// Kafka's security.protocol values for a listener.
enum class SecurityProtocol : uint8_t { plaintext, ssl, sasl_plaintext, sasl_ssl };

// Kafka's name: "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL".
std::string_view security_protocol_name(SecurityProtocol p) noexcept;
// The protocol Kafka names `name` (exact, upper case), or nullopt.
std::optional<SecurityProtocol> parse_security_protocol(std::string_view name) noexcept;

// Kafka's KafkaPrincipal: a type and a name, printed "User:alice".
struct Principal {
  std::string type = "User";
  std::string name = "ANONYMOUS";

  std::string to_string() const { return type + ":" + name; }
  bool anonymous() const noexcept { return type == "User" && name == "ANONYMOUS"; }
  bool operator==(const Principal&) const = default;
};

enum class AuthState : uint8_t {
  none,         // nothing started (the only state of a PLAINTEXT or SSL listener without mTLS)
  in_progress,  // a SASL handshake named a mechanism; its exchange has not finished
  authenticated,
};

std::string_view auth_state_name(AuthState s) noexcept;

// The listener a connection was accepted on (Kafka's listener name, e.g. "PLAINTEXT" or
// "INTERNAL", and its protocol).
struct ListenerInfo {
  std::string name = "PLAINTEXT";
  SecurityProtocol protocol = SecurityProtocol::plaintext;
};

struct Session {
  uint64_t connection_id = 0;
  std::string peer;       // "host:port" (IPv6 addresses unbracketed), for logs
  std::string peer_host;  // the address part of `peer`
  ListenerInfo listener;
  Principal principal;
  AuthState auth = AuthState::none;
  std::string mechanism;  // the SASL mechanism once a handshake named one; "" before

  // The security protocol of the listener this session came in on.
  SecurityProtocol protocol() const noexcept { return listener.protocol; }
  bool authenticated() const noexcept { return auth == AuthState::authenticated; }
};

// The address part of "host:port" (IPv6 addresses are not bracketed).
std::string host_of(std::string_view peer);

}  // namespace ferry::net
