// Declarative message descriptions and the generic codec that reads and writes them.
//
// Every Kafka API message is a plain struct that lists its fields once, in wire order, each with
// the versions it exists in; decoders and encoders for every version come from that single list:
//
//   struct HeartbeatRequest {
//     std::string group_id;
//     int32_t generation_id = 0;
//     std::string member_id;
//     std::optional<std::string> group_instance_id;
//     template <class V, class M> static void fields(V& v, M& m) {
//       v(m.group_id, all);
//       v(m.generation_id, all);
//       v(m.member_id, all);
//       v(m.group_instance_id, since(3));
//     }
//   };
//
// A field absent from a version keeps its default member initializer when decoding and is
// skipped when encoding. Tagged fields (flexible versions only) are declared with
// v.tagged(tag, field, versions) and must be std::optional: present when set. Whether a version
// is flexible is decided by the caller (api.h knows each API's first flexible version); in
// flexible versions strings, bytes, arrays and records use compact lengths and every struct,
// the top level included, ends with a tag buffer (unknown tags are skipped).
//
// C++ type -> wire type:
//   int8_t/int16_t/int32_t/int64_t/uint16_t/bool/double  INT8..INT64, UINT16, BOOLEAN, FLOAT64
//   Uuid                                                 UUID
//   std::string / std::optional<std::string>             STRING / NULLABLE_STRING
//   Bytes / std::optional<Bytes>                         BYTES / NULLABLE_BYTES (owning copy)
//   RecordsRef                                           RECORDS (a view into the frame buffer)
//   std::vector<T> / std::optional<std::vector<T>>       ARRAY / nullable ARRAY of T
//   a struct with fields()                               STRUCT
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "common/result.h"
#include "protocol/wire.h"

namespace ferry::protocol {

struct Versions {
  int16_t lo = 0;
  int16_t hi = 0x7fff;
  constexpr bool has(int16_t v) const noexcept { return v >= lo && v <= hi; }
};
inline constexpr Versions all{0, 0x7fff};
constexpr Versions since(int16_t v) noexcept { return {v, 0x7fff}; }
constexpr Versions upto(int16_t v) noexcept { return {0, v}; }
constexpr Versions range(int16_t lo, int16_t hi) noexcept { return {lo, hi}; }

using Bytes = std::vector<std::byte>;

// RECORDS: record batches (or a legacy message set) left undecoded. When decoding it views the
// frame being decoded, which must outlive it; when encoding it views bytes its owner keeps alive
// until the frame has been written.
struct RecordsRef {
  std::optional<std::span<const std::byte>> data;

  // Equal when both are null or both hold the same bytes, wherever those bytes live.
  friend bool operator==(const RecordsRef& a, const RecordsRef& b) noexcept {
    if (!a.data || !b.data) return !a.data && !b.data;
    return std::equal(a.data->begin(), a.data->end(), b.data->begin(), b.data->end());
  }
};

namespace schema_detail {

template <typename T>
struct is_vector : std::false_type {};
template <typename T>
struct is_vector<std::vector<T>> : std::true_type {
  using element = T;
};
template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {
  using inner = T;
};

template <typename T>
struct is_nullable_array : std::false_type {};
template <typename T>
struct is_nullable_array<std::optional<std::vector<T>>> : std::true_type {};

// Any visitor works for the concept check: fields() is a template over it.
struct ProbeVisitor {
  template <typename T>
  void operator()(T&, Versions) {}
  template <typename T>
  void tagged(uint32_t, T&, Versions) {}
};

template <typename T>
concept Described = requires(ProbeVisitor& v, T& m) {
  T::fields(v, m);
};

}  // namespace schema_detail

class Decoder {
 public:
  Decoder(Reader& r, int16_t version, bool flexible) : r_(r), version_(version), flex_(flexible) {}

  template <typename T>
  void operator()(T& field, Versions vs) {
    if (vs.has(version_)) read(field);
  }
  template <typename T>
  void tagged(uint32_t, T&, Versions) {}  // tagged fields are read from the tag buffer

  template <typename T>
  void read(T& f) {
    using namespace schema_detail;
    if constexpr (std::is_same_v<T, bool>) {
      f = r_.boolean();
    } else if constexpr (std::is_same_v<T, int8_t>) {
      f = r_.i8();
    } else if constexpr (std::is_same_v<T, int16_t>) {
      f = r_.i16();
    } else if constexpr (std::is_same_v<T, uint16_t>) {
      f = r_.u16();
    } else if constexpr (std::is_same_v<T, int32_t>) {
      f = r_.i32();
    } else if constexpr (std::is_same_v<T, int64_t>) {
      f = r_.i64();
    } else if constexpr (std::is_same_v<T, double>) {
      f = r_.f64();
    } else if constexpr (std::is_same_v<T, Uuid>) {
      f = r_.uuid();
    } else if constexpr (std::is_same_v<T, std::string>) {
      f = r_.string(flex_);
    } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
      f = r_.nullable_string(flex_);
    } else if constexpr (std::is_same_v<T, Bytes>) {
      auto b = r_.nullable_bytes(flex_);  // null reads as empty
      if (b) {
        f.assign(b->begin(), b->end());
      } else {
        f.clear();
      }
    } else if constexpr (std::is_same_v<T, std::optional<Bytes>>) {
      auto b = r_.nullable_bytes(flex_);
      if (b) {
        f.emplace(b->begin(), b->end());
      } else {
        f.reset();
      }
    } else if constexpr (std::is_same_v<T, RecordsRef>) {
      f.data = r_.nullable_bytes(flex_);
    } else if constexpr (is_vector<T>::value) {
      read_array(f);
    } else if constexpr (is_nullable_array<T>::value) {
      const int64_t n = r_.array_count(flex_);
      if (n < 0) {
        f.reset();
      } else {
        f.emplace();
        read_elements(*f, n);
      }
    } else if constexpr (Described<T>) {
      read_struct(f);
    } else if constexpr (is_optional<T>::value) {
      read(f.emplace());  // a tagged field being decoded
    } else {
      static_assert(sizeof(T) == 0, "no wire encoding for this field type");
    }
  }

  template <typename T>
  void read_struct(T& m) {
    T::fields(*this, m);
    if (flex_) read_tags(m);
  }

 private:
  template <typename T>
  void read_array(std::vector<T>& f) {
    const int64_t n = r_.array_count(flex_);
    f.clear();
    if (n > 0) read_elements(f, n);
  }
  template <typename T>
  void read_elements(std::vector<T>& f, int64_t n) {
    f.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n && r_.ok(); ++i) read(f.emplace_back());
  }

  // Reads one tag buffer, decoding the tags `m` declares and skipping the rest.
  template <typename T>
  void read_tags(T& m) {
    const uint32_t count = r_.uvarint();
    for (uint32_t i = 0; i < count && r_.ok(); ++i) {
      const uint32_t tag = r_.uvarint();
      auto body = r_.take(r_.uvarint());
      if (!r_.ok()) return;
      Reader sub(body);
      TagDecoder td{sub, tag, version_};
      T::fields(td, m);
      if (!sub.ok()) r_.fail(sub.failure());
    }
  }

  struct TagDecoder {
    Reader& r;
    uint32_t tag;
    int16_t version;
    template <typename F>
    void operator()(F&, Versions) {}
    template <typename F>
    void tagged(uint32_t t, F& field, Versions vs) {
      if (t == tag && vs.has(version)) Decoder(r, version, true).read(field);
    }
  };

  Reader& r_;
  int16_t version_;
  bool flex_;
};

class Encoder {
 public:
  Encoder(Writer& w, int16_t version, bool flexible) : w_(w), version_(version), flex_(flexible) {}

  template <typename T>
  void operator()(const T& field, Versions vs) {
    if (vs.has(version_)) write(field);
  }
  template <typename T>
  void tagged(uint32_t, const T&, Versions) {}  // written by write_tags

  template <typename T>
  void write(const T& f) {
    using namespace schema_detail;
    if constexpr (std::is_same_v<T, bool>) {
      w_.boolean(f);
    } else if constexpr (std::is_same_v<T, int8_t>) {
      w_.i8(f);
    } else if constexpr (std::is_same_v<T, int16_t>) {
      w_.i16(f);
    } else if constexpr (std::is_same_v<T, uint16_t>) {
      w_.i16(static_cast<int16_t>(f));
    } else if constexpr (std::is_same_v<T, int32_t>) {
      w_.i32(f);
    } else if constexpr (std::is_same_v<T, int64_t>) {
      w_.i64(f);
    } else if constexpr (std::is_same_v<T, double>) {
      w_.f64(f);
    } else if constexpr (std::is_same_v<T, Uuid>) {
      w_.uuid(f);
    } else if constexpr (std::is_same_v<T, std::string>) {
      w_.string(f, flex_);
    } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
      w_.nullable_string(f, flex_);
    } else if constexpr (std::is_same_v<T, Bytes>) {
      w_.bytes(f, flex_);
    } else if constexpr (std::is_same_v<T, std::optional<Bytes>>) {
      if (f) {
        w_.bytes(*f, flex_);
      } else {
        w_.null_bytes(flex_);
      }
    } else if constexpr (std::is_same_v<T, RecordsRef>) {
      if (f.data) {
        w_.records(*f.data, flex_);
      } else {
        w_.null_bytes(flex_);
      }
    } else if constexpr (is_vector<T>::value) {
      w_.array_count(static_cast<int64_t>(f.size()), flex_);
      for (const auto& e : f) write(e);
    } else if constexpr (is_nullable_array<T>::value) {
      if (!f) {
        w_.array_count(-1, flex_);
      } else {
        write(*f);
      }
    } else if constexpr (Described<T>) {
      write_struct(f);
    } else if constexpr (is_optional<T>::value) {
      write(*f);  // a present tagged field
    } else {
      static_assert(sizeof(T) == 0, "no wire encoding for this field type");
    }
  }

  template <typename T>
  void write_struct(const T& m) {
    T::fields(*this, m);
    if (flex_) write_tags(m);
  }

 private:
  template <typename T>
  void write_tags(const T& m) {
    TagCounter counter{version_};
    T::fields(counter, m);
    w_.uvarint(counter.count);
    if (counter.count == 0) return;
    TagWriter tw{w_, version_};
    T::fields(tw, m);
  }

  struct TagCounter {
    int16_t version;
    uint32_t count = 0;
    template <typename F>
    void operator()(const F&, Versions) {}
    template <typename F>
    void tagged(uint32_t, const F& field, Versions vs) {
      if (vs.has(version) && field.has_value()) ++count;
    }
  };
  struct TagWriter {
    Writer& w;
    int16_t version;
    template <typename F>
    void operator()(const F&, Versions) {}
    template <typename F>
    void tagged(uint32_t tag, const F& field, Versions vs) {
      if (!vs.has(version) || !field.has_value()) return;
      std::vector<std::byte> body;
      Writer bw(body);
      Encoder(bw, version, true).write(*field);
      w.uvarint(tag);
      w.uvarint(static_cast<uint32_t>(body.size()));
      w.raw(body);
    }
  };

  Writer& w_;
  int16_t version_;
  bool flex_;
};

// Decodes a whole message body; trailing bytes are tolerated (newer clients may append fields a
// version we do not know adds, as Kafka tolerates), truncation is not.
template <schema_detail::Described M>
Status decode_message(std::span<const std::byte> body, int16_t version, bool flexible, M& out) {
  Reader r(body);
  Decoder d(r, version, flexible);
  d.read_struct(out);
  if (!r.ok()) return Error(Errc::corrupt, std::string("malformed message: ") + r.failure());
  return ok_status();
}

template <schema_detail::Described M>
void encode_message(const M& m, int16_t version, bool flexible, Writer& w) {
  Encoder e(w, version, flexible);
  e.write_struct(m);
}

}  // namespace ferry::protocol
