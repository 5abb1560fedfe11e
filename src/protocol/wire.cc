#include "protocol/wire.h"

#include <bit>
#include <cstring>

#include "protocol/varint.h"

namespace ferry::protocol {

double Reader::f64() noexcept { return std::bit_cast<double>(static_cast<uint64_t>(i64())); }

Uuid Reader::uuid() noexcept {
  Uuid u{};
  auto s = take(u.size());
  if (s.size() == u.size()) std::memcpy(u.data(), s.data(), u.size());
  return u;
}

uint32_t Reader::uvarint() noexcept {
  if (failed_) return 0;
  auto rest = in_.subspan(pos_);
  const size_t before = rest.size();
  auto v = read_unsigned_varint(rest);
  if (!v) {
    fail("bad unsigned varint");
    return 0;
  }
  pos_ += before - rest.size();
  return *v;
}

int64_t Reader::string_length(bool compact) noexcept {
  const int64_t n = compact ? static_cast<int64_t>(uvarint()) - 1 : i16();
  if (n < -1) {
    fail("negative string length");
    return 0;
  }
  if (n > static_cast<int64_t>(remaining())) {
    fail("string longer than the frame");
    return 0;
  }
  return n;
}

int64_t Reader::bytes_length(bool compact) noexcept {
  const int64_t n = compact ? static_cast<int64_t>(uvarint()) - 1 : i32();
  if (n < -1) {
    fail("negative bytes length");
    return 0;
  }
  if (n > static_cast<int64_t>(remaining())) {
    fail("bytes longer than the frame");
    return 0;
  }
  return n;
}

int64_t Reader::array_count(bool compact) noexcept {
  const int64_t n = compact ? static_cast<int64_t>(uvarint()) - 1 : i32();
  if (n < -1) {
    fail("negative array length");
    return 0;
  }
  if (n > static_cast<int64_t>(remaining())) {
    fail("array longer than the frame");
    return 0;
  }
  return n;
}

std::optional<std::string> Reader::nullable_string(bool compact) {
  const int64_t n = string_length(compact);
  if (n < 0 || failed_) return std::nullopt;
  auto s = take(static_cast<size_t>(n));
  return std::string(as_string_view(s));
}

std::string Reader::string(bool compact) {
  auto s = nullable_string(compact);
  if (!s) {
    if (!failed_) fail("null where a string is required");
    return {};
  }
  return std::move(*s);
}

std::optional<std::span<const std::byte>> Reader::nullable_bytes(bool compact) noexcept {
  const int64_t n = bytes_length(compact);
  if (n < 0 || failed_) return std::nullopt;
  return take(static_cast<size_t>(n));
}

std::span<const std::byte> Reader::take(size_t n) noexcept {
  if (remaining() < n) {
    fail("truncated");
    return {};
  }
  auto s = in_.subspan(pos_, n);
  pos_ += n;
  return s;
}

void Reader::skip_tag_buffer() noexcept {
  const uint32_t count = uvarint();
  for (uint32_t i = 0; i < count && ok(); ++i) {
    (void)uvarint();  // tag
    skip(uvarint());
  }
}

void Writer::f64(double v) { i64(static_cast<int64_t>(std::bit_cast<uint64_t>(v))); }

void Writer::uvarint(uint32_t v) { write_unsigned_varint(out_, v); }

void Writer::string(std::string_view s, bool compact) {
  if (compact) {
    uvarint(static_cast<uint32_t>(s.size() + 1));
  } else {
    i16(static_cast<int16_t>(s.size()));
  }
  raw(as_byte_span(s));
}

void Writer::nullable_string(const std::optional<std::string>& s, bool compact) {
  if (s) {
    string(*s, compact);
  } else {
    nullable_string_view(std::nullopt, compact);
  }
}

void Writer::nullable_string_view(std::optional<std::string_view> s, bool compact) {
  if (s) {
    string(*s, compact);
  } else if (compact) {
    uvarint(0);
  } else {
    i16(-1);
  }
}

void Writer::bytes(std::span<const std::byte> b, bool compact) {
  if (compact) {
    uvarint(static_cast<uint32_t>(b.size() + 1));
  } else {
    i32(static_cast<int32_t>(b.size()));
  }
  raw(b);
}

void Writer::records(std::span<const std::byte> b, bool compact) {
  if (splices_ == nullptr || b.size() < kMinSplice) {
    bytes(b, compact);
    return;
  }
  if (compact) {
    uvarint(static_cast<uint32_t>(b.size() + 1));
  } else {
    i32(static_cast<int32_t>(b.size()));
  }
  splices_->push_back({out_.size(), b});
}

void Writer::null_bytes(bool compact) {
  if (compact) {
    uvarint(0);
  } else {
    i32(-1);
  }
}

void Writer::array_count(int64_t n, bool compact) {
  if (compact) {
    uvarint(static_cast<uint32_t>(n + 1));
  } else {
    i32(static_cast<int32_t>(n));
  }
}

}  // namespace ferry::protocol
