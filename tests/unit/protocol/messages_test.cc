// Message descriptions: every described API and version round-trips a populated and an empty
// instance, rejects every truncation, and a few encodings are checked byte for byte against the
// Kafka protocol; also the error-code table and decode_request_body's dispatch.
#include "protocol/messages.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "protocol/api.h"
#include "protocol/error_code.h"
#include "protocol/schema.h"
#include "protocol/wire.h"

namespace ferry::protocol {
namespace {

using ByteVec = std::vector<std::byte>;

ByteVec bytes(std::initializer_list<int> v) {
  ByteVec out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

ByteVec operator+(ByteVec a, const ByteVec& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

ByteVec text(std::string_view s) {
  auto b = as_byte_span(s);
  return ByteVec(b.begin(), b.end());
}

template <typename M>
ByteVec encode(const M& m, int16_t version, bool flexible) {
  ByteVec out;
  Writer w(out);
  encode_message(m, version, flexible, w);
  return out;
}

// Decodes and requires that the whole input was consumed.
template <typename M>
M decode_exact(std::span<const std::byte> in, int16_t version, bool flexible) {
  Reader r(in);
  Decoder d(r, version, flexible);
  M m;
  d.read_struct(m);
  EXPECT_TRUE(r.ok()) << r.failure();
  EXPECT_EQ(r.remaining(), 0u);
  return m;
}

// Fills every field present in `version` with a distinct value, or (empty mode) nullable fields
// with null, arrays with no elements and tagged fields left absent.
class Filler {
 public:
  Filler(int16_t version, bool empty, std::span<const std::byte> records)
      : version_(version), empty_(empty), records_(records) {}

  template <typename T>
  void operator()(T& f, Versions vs) {
    if (vs.has(version_)) fill(f);
  }
  template <typename T>
  void tagged(uint32_t, T& f, Versions vs) {
    if (!vs.has(version_) || empty_) return;
    fill(f.emplace());
  }

  template <typename T>
  void fill(T& f) {
    using namespace schema_detail;
    const int n = next_++;
    if constexpr (std::is_same_v<T, bool>) {
      f = true;
    } else if constexpr (std::is_integral_v<T>) {
      f = static_cast<T>(n % 100 + 1);
    } else if constexpr (std::is_same_v<T, std::string>) {
      f = empty_ ? std::string() : "s" + std::to_string(n);
    } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
      if (empty_) {
        f.reset();
      } else {
        f = "n" + std::to_string(n);
      }
    } else if constexpr (std::is_same_v<T, Bytes>) {
      f = empty_ ? Bytes{} : Bytes{std::byte{0xAB}, static_cast<std::byte>(n)};
    } else if constexpr (std::is_same_v<T, RecordsRef>) {
      if (empty_) {
        f.data.reset();
      } else {
        f.data = records_;
      }
    } else if constexpr (is_vector<T>::value) {
      f.clear();
      if (!empty_) {
        fill(f.emplace_back());
        fill(f.emplace_back());
      }
    } else if constexpr (is_nullable_array<T>::value) {
      if (empty_) {
        f.reset();
      } else {
        fill(f.emplace());
      }
    } else if constexpr (Described<T>) {
      T::fields(*this, f);
    } else {
      static_assert(sizeof(T) == 0, "no filler for this field type");
    }
  }

 private:
  int16_t version_;
  bool empty_;
  std::span<const std::byte> records_;
  int next_ = 1;
};

const ByteVec kRecords = bytes({0x00, 0x01, 0x02, 0xFE, 0xFF});

template <typename M>
void check_round_trip(int16_t version, bool flexible, bool empty) {
  SCOPED_TRACE(empty ? "empty instance" : "populated instance");
  M m;
  Filler(version, empty, kRecords).fill(m);
  const ByteVec wire = encode(m, version, flexible);
  const M back = decode_exact<M>(wire, version, flexible);
  EXPECT_TRUE(back == m);
  EXPECT_EQ(encode(back, version, flexible), wire);

  if (empty) return;
  // Every strict prefix lacks some field: decoding must fail without crashing.
  for (size_t cut = 0; cut < wire.size(); ++cut) {
    M partial;
    auto st =
        decode_message(std::span<const std::byte>(wire).first(cut), version, flexible, partial);
    EXPECT_FALSE(st.ok()) << "prefix of " << cut << " bytes of " << wire.size() << " decoded";
    if (!st.ok()) {
      EXPECT_EQ(st.error().code(), Errc::corrupt);
    }
  }
}

TEST(Messages, EveryApiAndVersionRoundTrips) {
  size_t apis = 0;
  for_each_described_api([&](auto k) {
    constexpr ApiKey key = decltype(k)::value;
    using Desc = Messages<key>;
    ++apis;
    for (int16_t v = Desc::min_version; v <= Desc::max_version; ++v) {
      SCOPED_TRACE(std::string(api_name(static_cast<int16_t>(key))) + " v" + std::to_string(v));
      const bool flex = is_flexible(key, v);
      for (bool empty : {false, true}) {
        check_round_trip<typename Desc::Request>(v, flex, empty);
        check_round_trip<typename Desc::Response>(v, flex, empty);
      }
    }
  });
  EXPECT_EQ(apis, DescribedApis::size);
  EXPECT_EQ(apis, 31u);
}

// The descriptions leave out the tagged fields of flexible versions (except ApiVersions v3,
// InitProducerId v2-4, SaslAuthenticate v2 and the SCRAM credential APIs' v0, which have none
// but the tag buffers), so the table must not claim a flexible version of any other API.
TEST(Messages, DescribedVersionsAreNotFlexibleExceptApiVersionsInitProducerIdAndSasl) {
  for_each_described_api([&](auto k) {
    constexpr ApiKey key = decltype(k)::value;
    using Desc = Messages<key>;
    EXPECT_EQ(Desc::min_version, 0);
    for (int16_t v = Desc::min_version; v <= Desc::max_version; ++v) {
      if ((key == ApiKey::api_versions && v == 3) || (key == ApiKey::init_producer_id && v >= 2) ||
          (key == ApiKey::sasl_authenticate && v == 2) ||
          key == ApiKey::describe_user_scram_credentials ||
          key == ApiKey::alter_user_scram_credentials) {
        EXPECT_TRUE(is_flexible(key, v));
      } else {
        EXPECT_FALSE(is_flexible(key, v)) << api_name(static_cast<int16_t>(key)) << " v" << v;
      }
    }
  });
}

TEST(Messages, VisitFindsOnlyDescribedKeys) {
  int16_t seen = -1;
  EXPECT_TRUE(
      visit_described_api(3, [&](auto k) { seen = static_cast<int16_t>(decltype(k)::value); }));
  EXPECT_EQ(seen, 3);
  EXPECT_FALSE(visit_described_api(21, [](auto) {}));  // DeleteRecords: not described here
  EXPECT_FALSE(visit_described_api(-1, [](auto) {}));
}

// ---- decode_request_body ----------------------------------------------------------------------

TEST(DecodeRequestBody, DispatchesByKeyAndVersion) {
  // ApiVersions v0 has an empty body.
  EXPECT_TRUE(decode_request_body(18, 0, {}).ok());
  // Heartbeat v0: group "g", generation 1, member "m".
  const ByteVec hb = bytes({0, 1, 'g', 0, 0, 0, 1, 0, 1, 'm'});
  EXPECT_TRUE(decode_request_body(12, 0, hb).ok());
  // v3 wants a group_instance_id after it.
  auto st = decode_request_body(12, 3, hb);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::corrupt);
}

TEST(DecodeRequestBody, UnknownKeyOrVersionIsUnsupported) {
  for (auto [key, version] : {std::pair<int, int>{21, 0},
                              {17, 2},
                              {36, 3},
                              {18, 4},
                              {0, 9},
                              {1, 12},
                              {3, -1},
                              {999, 0},
                              {-5, 0},
                              {47, 1}}) {
    auto st = decode_request_body(static_cast<int16_t>(key), static_cast<int16_t>(version), {});
    ASSERT_FALSE(st.ok()) << key << " v" << version;
    EXPECT_EQ(st.error().code(), Errc::unsupported) << key << " v" << version;
  }
}

// ---- Golden encodings -------------------------------------------------------------------------

ByteVec request_frame(int16_t key, int16_t version, int32_t correlation_id,
                      const std::optional<std::string>& client_id, const ByteVec& body) {
  ByteVec out;
  Writer w(out);
  const size_t mark = w.reserve_size();
  encode_request_header({key, version, correlation_id, client_id}, w);
  w.raw(body);
  w.patch_size(mark);
  return out;
}

TEST(Golden, ApiVersionsV0Request) {
  const ByteVec body = encode(ApiVersionsRequest{}, 0, false);
  EXPECT_TRUE(body.empty());
  const ByteVec frame = request_frame(18, 0, 1, "c", body);
  EXPECT_EQ(frame, bytes({0, 0, 0, 11,  // size
                          0, 18, 0, 0,  // key 18, version 0
                          0, 0, 0, 1,   // correlation id
                          0, 1, 'c'}));
}

TEST(Golden, ApiVersionsV0Response) {
  ApiVersionsResponse r;
  r.api_keys = {{0, 0, 8}, {18, 0, 3}};
  r.throttle_time_ms = 99;                          // not in v0
  const ByteVec want = bytes({0, 0,                 // error_code
                              0, 0, 0, 2,           // api_keys count
                              0, 0, 0, 0, 0, 8,     // Produce 0-8
                              0, 18, 0, 0, 0, 3});  // ApiVersions 0-3
  EXPECT_EQ(encode(r, 0, false), want);
  auto back = decode_exact<ApiVersionsResponse>(want, 0, false);
  EXPECT_EQ(back.api_keys, r.api_keys);
  EXPECT_EQ(back.throttle_time_ms, 0);
  // v1 appends throttle_time_ms.
  EXPECT_EQ(encode(r, 1, false), want + bytes({0, 0, 0, 99}));
}

TEST(Golden, ApiVersionsV3RequestIsFlexible) {
  ApiVersionsRequest r{"ferry", "1.0"};
  ASSERT_TRUE(is_flexible(ApiKey::api_versions, 3));
  const ByteVec body = encode(r, 3, true);
  const ByteVec want_body = bytes({6}) + text("ferry") + bytes({4}) + text("1.0") + bytes({0});
  EXPECT_EQ(body, want_body);
  // Header v2: client_id keeps its int16 length, then an empty tag buffer.
  const ByteVec frame = request_frame(18, 3, 7, "c", body);
  EXPECT_EQ(frame, bytes({0, 0, 0, 23, 0, 18, 0, 3, 0, 0, 0, 7, 0, 1, 'c', 0}) + want_body);

  size_t header_bytes = 0;
  auto h = decode_request_header(std::span<const std::byte>(frame).subspan(4), header_bytes);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(header_bytes, 12u);
  auto back = decode_exact<ApiVersionsRequest>(
      std::span<const std::byte>(frame).subspan(4 + header_bytes), 3, true);
  EXPECT_EQ(back, r);

  // An unknown tag in the body's tag buffer is skipped.
  const ByteVec tagged =
      bytes({6}) + text("ferry") + bytes({4}) + text("1.0") + bytes({1, 9, 2, 0xAA, 0xBB});
  EXPECT_EQ(decode_exact<ApiVersionsRequest>(tagged, 3, true), r);
}

TEST(Golden, ApiVersionsV3ResponseTaggedFields) {
  ApiVersionsResponse r;
  r.api_keys = {{18, 0, 3}};
  r.finalized_features_epoch = 5;
  const ByteVec want = bytes({0, 0,                             // error_code
                              2,                                // compact count 1
                              0, 18, 0, 0, 0, 3, 0,             // element + its tag buffer
                              0, 0,  0, 0,                      // throttle_time_ms
                              1,                                // one tagged field
                              1, 8,  0, 0, 0, 0, 0, 0, 0, 5});  // tag 1, 8 bytes: epoch 5
  EXPECT_EQ(encode(r, 3, true), want);
  EXPECT_EQ(decode_exact<ApiVersionsResponse>(want, 3, true), r);
}

TEST(Golden, MetadataV1NullTopicsVersusEmpty) {
  MetadataRequest all_topics;
  all_topics.topics.reset();
  MetadataRequest no_topics;
  no_topics.topics.emplace();
  EXPECT_EQ(encode(all_topics, 1, false), bytes({0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(encode(no_topics, 1, false), bytes({0, 0, 0, 0}));

  EXPECT_FALSE(decode_exact<MetadataRequest>(bytes({0xFF, 0xFF, 0xFF, 0xFF}), 1, false).topics);
  auto empty = decode_exact<MetadataRequest>(bytes({0, 0, 0, 0}), 1, false).topics;
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());

  MetadataRequest one;
  one.topics = {{"ab"}};
  EXPECT_EQ(encode(one, 1, false), bytes({0, 0, 0, 1, 0, 2, 'a', 'b'}));
  // v4 adds allow_auto_topic_creation (default true).
  EXPECT_EQ(encode(one, 4, false), bytes({0, 0, 0, 1, 0, 2, 'a', 'b', 1}));
}

TEST(Golden, ProduceV3RequestWithHeader) {
  const ByteVec records = bytes({0xAA, 0xBB, 0xCC});
  ProduceRequest r;
  r.acks = -1;
  r.timeout_ms = 30000;
  r.topic_data = {{"t", {{2, RecordsRef{std::span<const std::byte>(records)}}}}};
  const ByteVec want_body = bytes({0xFF, 0xFF,              // transactional_id: null
                                   0xFF, 0xFF,              // acks -1
                                   0,    0,    0x75, 0x30,  // timeout 30000
                                   0,    0,    0,    1,    0,    1,    't',  // one topic "t"
                                   0,    0,    0,    1,                      // one partition
                                   0,    0,    0,    2,                      // index 2
                                   0,    0,    0,    3,    0xAA, 0xBB, 0xCC});
  EXPECT_EQ(encode(r, 3, false), want_body);
  const ByteVec frame = request_frame(0, 3, 0x01020304, "cli", want_body);
  const ByteVec want_header = bytes({0, 0, 0, 0x2B,  // size: 13 header + 30 body
                                     0, 0, 0, 3,     // Produce v3
                                     1, 2, 3, 4,     // correlation id
                                     0, 3, 'c', 'l', 'i'});
  EXPECT_EQ(frame, want_header + want_body);

  auto back = decode_exact<ProduceRequest>(want_body, 3, false);
  EXPECT_EQ(back, r);
  ASSERT_TRUE(back.topic_data[0].partition_data[0].records.data);
  // The records view points into the decoded buffer, not a copy.
  EXPECT_EQ(back.topic_data[0].partition_data[0].records.data->data(), want_body.data() + 27);
  // v2 has no transactional_id.
  EXPECT_EQ(encode(r, 2, false), ByteVec(want_body.begin() + 2, want_body.end()));
}

TEST(Golden, ListOffsetsV0AndV1) {
  ListOffsetsRequest r;
  r.topics = {{"t", {{0, -1, -1, 1}}}};
  // v0: replica, topics[name, partitions[index, timestamp, max_num_offsets]]
  EXPECT_EQ(encode(r, 0, false),
            bytes({0xFF, 0xFF, 0xFF, 0xFF, 0,    0,    0,    1,    0,    1,    't',  0, 0, 0, 1, 0,
                   0,    0,    0,    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1}));
  // v1 drops max_num_offsets.
  EXPECT_EQ(encode(r, 1, false),
            bytes({0xFF, 0xFF, 0xFF, 0xFF, 0, 0,    0,    1,    0,    1,    't',  0,    0,   0,
                   1,    0,    0,    0,    0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}));
}

TEST(Golden, InitProducerIdFlexibleVersionsCarryTheEpochBump) {
  InitProducerIdRequest r;
  r.transaction_timeout_ms = 60000;
  r.producer_id = 5;
  r.producer_epoch = 2;
  // v1: NULLABLE_STRING null, timeout; the producer id and epoch do not exist yet.
  EXPECT_EQ(encode(r, 1, false), bytes({0xFF, 0xFF, 0, 0, 0xEA, 0x60}));
  // v4 (flexible): COMPACT_NULLABLE_STRING null, timeout, producer id, epoch, empty tag buffer.
  EXPECT_EQ(encode(r, 4, true),
            bytes({0x00, 0, 0, 0xEA, 0x60, 0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 0x00}));
  InitProducerIdResponse resp;
  resp.producer_id = 7;
  resp.producer_epoch = 1;
  EXPECT_EQ(encode(resp, 4, true), bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 1, 0x00}));
}

// SaslHandshake v1 (never flexible) and SaslAuthenticate v1 and v2 (flexible: compact bytes
// and strings, tag buffers), from Kafka's SaslHandshake*/SaslAuthenticate* message definitions.
TEST(Golden, SaslHandshakeAndAuthenticate) {
  EXPECT_FALSE(is_flexible(ApiKey::sasl_handshake, 1));
  EXPECT_EQ(encode(SaslHandshakeRequest{"PLAIN"}, 1, false), bytes({0, 5}) + text("PLAIN"));
  SaslHandshakeResponse hs;
  hs.error_code = 33;
  EXPECT_EQ(encode(hs, 1, false), bytes({0, 33, 0, 0, 0, 0}));  // error, empty mechanisms

  SaslAuthenticateRequest req;
  req.auth_bytes = text("abc");
  EXPECT_EQ(encode(req, 1, false), bytes({0, 0, 0, 3}) + text("abc"));
  ASSERT_TRUE(is_flexible(ApiKey::sasl_authenticate, 2));
  const ByteVec v2 = bytes({4}) + text("abc") + bytes({0});  // compact length n+1, tag buffer
  EXPECT_EQ(encode(req, 2, true), v2);
  EXPECT_EQ(decode_exact<SaslAuthenticateRequest>(v2, 2, true), req);

  SaslAuthenticateResponse resp;
  resp.error_code = 34;
  resp.error_message = "no";
  resp.session_lifetime_ms = 7;
  EXPECT_EQ(encode(resp, 1, false),
            bytes({0, 34, 0, 2, 'n', 'o', 0, 0, 0, 0}) + bytes({0, 0, 0, 0, 0, 0, 0, 7}));
  const ByteVec r2 = bytes({0, 34, 3, 'n', 'o', 1, 0, 0, 0, 0, 0, 0, 0, 7, 0});
  EXPECT_EQ(encode(resp, 2, true), r2);
  EXPECT_EQ(decode_exact<SaslAuthenticateResponse>(r2, 2, true), resp);
}

TEST(Defaults, MatchKafka) {
  EXPECT_EQ(FetchRequest{}.max_bytes, 0x7fffffff);
  EXPECT_EQ(FetchRequest{}.session_epoch, -1);
  EXPECT_EQ(FetchRequest{}.replica_id, -1);
  EXPECT_EQ(FetchRequest::Topic::Partition{}.current_leader_epoch, -1);
  EXPECT_EQ(FetchResponse::Topic::Partition{}.preferred_read_replica, -1);
  EXPECT_TRUE(MetadataRequest{}.allow_auto_topic_creation);
  EXPECT_EQ(MetadataResponse{}.controller_id, -1);
  EXPECT_EQ(MetadataResponse::Topic::Partition{}.leader_epoch, -1);
  EXPECT_EQ(ProduceResponse::Topic::Partition{}.log_append_time_ms, -1);
  EXPECT_EQ(CreateTopicsRequest{}.timeout_ms, 60000);
  EXPECT_EQ(InitProducerIdResponse{}.producer_id, -1);
  EXPECT_EQ(JoinGroupResponse{}.generation_id, -1);
  EXPECT_EQ(DescribeConfigsResponse::Result::Config{}.config_source, -1);
}

// ---- Error codes ------------------------------------------------------------------------------

TEST(ErrorCodes, NamesAndValues) {
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::unknown_server_error), -1);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::none), 0);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::not_leader_or_follower), 6);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::unsupported_version), 35);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::unsupported_compression_type), 76);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::invalid_record), 87);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::unknown_topic_id), 100);
  EXPECT_EQ(error_name(ErrorCode::none), "NONE");
  EXPECT_EQ(error_name(ErrorCode::unknown_server_error), "UNKNOWN_SERVER_ERROR");
  EXPECT_EQ(error_name(ErrorCode::unknown_topic_or_partition), "UNKNOWN_TOPIC_OR_PARTITION");
  EXPECT_EQ(error_name(ErrorCode::invalid_topic_exception), "INVALID_TOPIC_EXCEPTION");
  EXPECT_EQ(error_name(ErrorCode::transactional_id_authorization_failed),
            "TRANSACTIONAL_ID_AUTHORIZATION_FAILED");
  EXPECT_EQ(error_name(ErrorCode::invalid_registration), "INVALID_REGISTRATION");
  EXPECT_EQ(error_name(static_cast<ErrorCode>(-2)), "UNKNOWN");
  EXPECT_EQ(error_name(static_cast<ErrorCode>(kMaxErrorCode + 1)), "UNKNOWN");
  EXPECT_EQ(error_message(ErrorCode::none), "");
  EXPECT_FALSE(error_message(ErrorCode::corrupt_message).empty());
  EXPECT_TRUE(error_retriable(ErrorCode::not_leader_or_follower));
  EXPECT_TRUE(error_retriable(ErrorCode::coordinator_not_available));
  EXPECT_FALSE(error_retriable(ErrorCode::topic_already_exists));
  EXPECT_FALSE(error_retriable(static_cast<ErrorCode>(4000)));
}

TEST(ErrorCodes, EveryCodeHasANameAndMessage) {
  for (int c = kMinErrorCode; c <= kMaxErrorCode; ++c) {
    const auto code = static_cast<ErrorCode>(c);
    EXPECT_TRUE(is_known_error_code(static_cast<int16_t>(c)));
    const auto name = error_name(code);
    EXPECT_NE(name, "UNKNOWN") << c;
    for (char ch : name) EXPECT_TRUE((ch >= 'A' && ch <= 'Z') || ch == '_') << name;
    if (code != ErrorCode::none) {
      EXPECT_FALSE(error_message(code).empty()) << name;
    }
  }
  EXPECT_FALSE(is_known_error_code(-2));
  EXPECT_FALSE(is_known_error_code(kMaxErrorCode + 1));
}

}  // namespace
}  // namespace ferry::protocol
