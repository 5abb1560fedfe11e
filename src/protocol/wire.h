// Kafka protocol primitive types: a bounds-checked reader and an appending writer.
//
// Every integer is big-endian. Strings, byte arrays, arrays and record sets have two encodings:
//
//   type              classic (non-flexible)              compact (flexible versions, KIP-482)
//   STRING            int16 length + UTF-8                uvarint(length + 1) + bytes
//   NULLABLE_STRING   int16 length, -1 = null             uvarint(length + 1), 0 = null
//   BYTES / RECORDS   int32 length (-1 = null) + bytes    uvarint(length + 1), 0 = null
//   ARRAY             int32 count (-1 = null)             uvarint(count + 1), 0 = null
//   TAG_BUFFER        (absent)                            uvarint count, then per field:
//                                                         uvarint tag, uvarint size, bytes
//   UUID              16 bytes                            16 bytes
//
// The uvarints of compact encodings are plain unsigned LEB128 (not zigzag); record-level varints
// inside record batches are zigzag and live in varint.h.
//
// The Reader never throws and never reads past its buffer: the first malformed or truncated
// field puts it into a sticky failed state, every later read returns a zero value, and the
// caller checks ok() once at the end.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/splice.h"

namespace ferry::protocol {

using Uuid = std::array<std::byte, 16>;

class Reader {
 public:
  explicit Reader(std::span<const std::byte> in) : in_(in) {}

  bool ok() const noexcept { return !failed_; }
  // Why the first failure happened (static text), or "" while ok.
  const char* failure() const noexcept { return failure_; }
  size_t remaining() const noexcept { return in_.size() - pos_; }
  size_t position() const noexcept { return pos_; }
  void fail(const char* why) noexcept {
    if (!failed_) failure_ = why;
    failed_ = true;
    pos_ = in_.size();
  }

  int8_t i8() noexcept { return static_cast<int8_t>(fixed<1>()[0]); }
  bool boolean() noexcept { return i8() != 0; }
  int16_t i16() noexcept { return load_i16(fixed<2>().data()); }
  int32_t i32() noexcept { return load_i32(fixed<4>().data()); }
  int64_t i64() noexcept { return load_i64(fixed<8>().data()); }
  uint16_t u16() noexcept { return load_be16(fixed<2>().data()); }
  uint32_t u32() noexcept { return load_be32(fixed<4>().data()); }
  double f64() noexcept;
  Uuid uuid() noexcept;
  uint32_t uvarint() noexcept;

  // Length prefixes. Return -1 for null; fail (and return 0) on a negative length other than -1
  // or a length beyond the remaining bytes.
  int64_t string_length(bool compact) noexcept;
  int64_t bytes_length(bool compact) noexcept;
  // Array counts are only checked against a sanity bound (each element takes >= 1 byte).
  int64_t array_count(bool compact) noexcept;

  std::optional<std::string> nullable_string(bool compact);
  std::string string(bool compact);
  std::optional<std::span<const std::byte>> nullable_bytes(bool compact) noexcept;
  std::span<const std::byte> take(size_t n) noexcept;
  void skip(size_t n) noexcept { (void)take(n); }

  // Skips a whole tag buffer (used where no tagged field is known).
  void skip_tag_buffer() noexcept;

 private:
  template <size_t N>
  std::span<const std::byte, N> fixed() noexcept {
    static constexpr std::array<std::byte, N> kZero{};
    if (remaining() < N) {
      fail("truncated");
      return std::span<const std::byte, N>(kZero);
    }
    auto s = in_.subspan(pos_).template first<N>();
    pos_ += N;
    return s;
  }

  std::span<const std::byte> in_;
  size_t pos_ = 0;
  bool failed_ = false;
  const char* failure_ = "";
};

// Record sets spliced into the output instead of copied (see Writer::records).
using ferry::Splice;

class Writer {
 public:
  explicit Writer(std::vector<std::byte>& out) : out_(out) {}
  // With a splice list, records() of at least kMinSplice bytes record a splice instead of
  // copying; the caller keeps the spliced bytes alive until the output has been sent.
  Writer(std::vector<std::byte>& out, std::vector<Splice>* splices)
      : out_(out), splices_(splices) {}
  static constexpr size_t kMinSplice = 4096;

  std::vector<std::byte>& buffer() noexcept { return out_; }
  size_t size() const noexcept { return out_.size(); }

  void i8(int8_t v) { out_.push_back(static_cast<std::byte>(v)); }
  void boolean(bool v) { i8(v ? 1 : 0); }
  void i16(int16_t v) {
    put<2>([&](std::byte* p) { store_i16(p, v); });
  }
  void i32(int32_t v) {
    put<4>([&](std::byte* p) { store_i32(p, v); });
  }
  void i64(int64_t v) {
    put<8>([&](std::byte* p) { store_i64(p, v); });
  }
  void u32(uint32_t v) {
    put<4>([&](std::byte* p) { store_be32(p, v); });
  }
  void f64(double v);
  void uuid(const Uuid& u) { raw(u); }
  void uvarint(uint32_t v);

  void string(std::string_view s, bool compact);
  void nullable_string(const std::optional<std::string>& s, bool compact);
  void nullable_string_view(std::optional<std::string_view> s, bool compact);
  void bytes(std::span<const std::byte> b, bool compact);
  // A RECORDS field's content: like bytes(), but spliced rather than copied when possible.
  void records(std::span<const std::byte> b, bool compact);
  void null_bytes(bool compact);
  void array_count(int64_t n, bool compact);  // -1 = null
  void empty_tag_buffer() { uvarint(0); }
  void raw(std::span<const std::byte> b) { out_.insert(out_.end(), b.begin(), b.end()); }

  // Reserves a 4-byte big-endian size field; patch_size() fills it with the bytes written since.
  size_t reserve_size() {
    i32(0);
    return out_.size();
  }
  void patch_size(size_t mark) {
    size_t n = out_.size() - mark;
    if (splices_ != nullptr) {
      for (const auto& sp : *splices_) {
        if (sp.at >= mark) n += sp.data.size();
      }
    }
    store_i32(out_.data() + mark - 4, static_cast<int32_t>(n));
  }

 private:
  template <size_t N, typename F>
  void put(F&& f) {
    const size_t at = out_.size();
    out_.resize(at + N);
    f(out_.data() + at);
  }
  std::vector<std::byte>& out_;
  std::vector<Splice>* splices_ = nullptr;
};

inline std::span<const std::byte> as_byte_span(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_string_view(std::span<const std::byte> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace ferry::protocol
