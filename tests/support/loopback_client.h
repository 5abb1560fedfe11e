// A raw TCP client over 127.0.0.1 on a test's loop: sends bytes as given and records every byte
// it receives, so tests can speak (or break) a length-prefixed protocol by hand.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::test {

// Connects on construction; the loop must run for the connection, the writes and the reads to
// make progress. Lives on the loop's thread. The handle is closed on destruction (its memory is
// freed by the close callback, so the loop must run once more before it is closed).
class LoopbackClient {
 public:
  // `from`: the local address to connect from (any 127.x.y.z is loopback on Linux).
  LoopbackClient(uv_loop_t* loop, uint16_t port, const char* from = nullptr);
  ~LoopbackClient();
  LoopbackClient(const LoopbackClient&) = delete;
  LoopbackClient& operator=(const LoopbackClient&) = delete;

  // Queues `bytes` for writing as they are (no framing added).
  void send(std::vector<std::byte> bytes);

  // The bodies of the complete size-prefixed frames received so far, in order.
  std::vector<std::vector<std::byte>> frame_bytes() const;
  // The same, as strings.
  std::vector<std::string> frames() const;

  bool connected() const { return connected_; }
  // The peer closed the connection (or reading failed).
  bool eof() const { return eof_; }
  size_t received_bytes() const { return rx_.size(); }
  // The client's own port (what the server sees as the peer's port); 0 before it connected.
  int local_port() const;

  // Stops and resumes reading: a client that does not read its responses.
  void pause();
  void resume();

 private:
  static void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf);

  uv_tcp_t* tcp_;
  uv_connect_t connect_{};
  bool connected_ = false;
  bool eof_ = false;
  std::vector<std::byte> rx_;
};

}  // namespace ferry::test
