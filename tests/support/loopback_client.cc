// The raw loopback TCP client shared by the net and broker tests (see loopback_client.h).
#include "support/loopback_client.h"

#include <cstring>
#include <utility>

#include "common/bytes.h"

namespace ferry::test {

namespace {

struct Write {
  uv_write_t req;
  std::vector<std::byte> data;
};

}  // namespace

LoopbackClient::LoopbackClient(uv_loop_t* loop, uint16_t port, const char* from) {
  tcp_ = new uv_tcp_t;
  uv_tcp_init(loop, tcp_);
  tcp_->data = this;
  if (from != nullptr) {
    sockaddr_in local{};
    uv_ip4_addr(from, 0, &local);
    uv_tcp_bind(tcp_, reinterpret_cast<const sockaddr*>(&local), 0);
  }
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", port, &addr);
  connect_.data = this;
  uv_tcp_connect(&connect_, tcp_, reinterpret_cast<const sockaddr*>(&addr),
                 [](uv_connect_t* c, int status) {
                   auto* self = static_cast<LoopbackClient*>(c->data);
                   if (c->handle->data == nullptr) return;  // destroyed before it connected
                   self->connected_ = status == 0;
                   if (status == 0) uv_read_start(c->handle, on_alloc, on_read);
                 });
}

LoopbackClient::~LoopbackClient() {
  tcp_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
}

void LoopbackClient::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  static char storage[1 << 16];
  *buf = uv_buf_init(storage, sizeof storage);
}

void LoopbackClient::on_read(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<LoopbackClient*>(stream->data);
  if (self == nullptr) return;
  if (n < 0) {
    self->eof_ = true;
    return;
  }
  const auto* bytes = reinterpret_cast<const std::byte*>(buf->base);
  self->rx_.insert(self->rx_.end(), bytes, bytes + n);
}

void LoopbackClient::send(std::vector<std::byte> bytes) {
  auto* w = new Write{{}, std::move(bytes)};
  w->req.data = w;
  uv_buf_t b =
      uv_buf_init(reinterpret_cast<char*>(w->data.data()), static_cast<unsigned>(w->data.size()));
  uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_), &b, 1,
           [](uv_write_t* req, int) { delete static_cast<Write*>(req->data); });
}

std::vector<std::vector<std::byte>> LoopbackClient::frame_bytes() const {
  std::vector<std::vector<std::byte>> out;
  size_t pos = 0;
  while (rx_.size() - pos >= 4) {
    const auto n = static_cast<size_t>(load_i32(rx_.data() + pos));
    if (rx_.size() - pos - 4 < n) break;
    out.emplace_back(rx_.begin() + static_cast<ptrdiff_t>(pos + 4),
                     rx_.begin() + static_cast<ptrdiff_t>(pos + 4 + n));
    pos += 4 + n;
  }
  return out;
}

std::vector<std::string> LoopbackClient::frames() const {
  std::vector<std::string> out;
  for (const auto& f : frame_bytes())
    out.emplace_back(reinterpret_cast<const char*>(f.data()), f.size());
  return out;
}

int LoopbackClient::local_port() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getsockname(tcp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

void LoopbackClient::pause() { uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_)); }

void LoopbackClient::resume() {
  uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), on_alloc, on_read);
}

}  // namespace ferry::test
