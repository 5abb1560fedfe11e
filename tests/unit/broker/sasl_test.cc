// The SASL APIs on a broker with no mechanism enabled, and the one version table: ApiVersions
// advertises exactly the ranges of protocol/messages.h, every group API is reachable through
// its own row of the API table.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>

#include "broker/api_table.h"
#include "broker_fixture.h"
#include "protocol/messages.h"

namespace ferry::broker {
namespace {

using protocol::ApiKey;
using namespace protocol;

class SaslTest : public test::BrokerFixture {};

TEST_F(SaslTest, ApiVersionsAdvertisesTheMessageTableAndTheSaslApis) {
  auto resp = call<ApiVersionsResponse>(ApiKey::api_versions, 3, ApiVersionsRequest{});
  ASSERT_EQ(resp.error_code, 0);
  std::map<int16_t, std::pair<int16_t, int16_t>> advertised;
  for (const auto& k : resp.api_keys) advertised[k.api_key] = {k.min_version, k.max_version};
  // Every described API, with the range described for it, and nothing else.
  size_t described = 0;
  for_each_described_api([&](auto k) {
    constexpr ApiKey key = decltype(k)::value;
    using Desc = Messages<key>;
    ++described;
    const auto it = advertised.find(static_cast<int16_t>(key));
    ASSERT_NE(it, advertised.end()) << api_name(static_cast<int16_t>(key));
    EXPECT_EQ(it->second, std::make_pair(Desc::min_version, Desc::max_version))
        << api_name(static_cast<int16_t>(key));
  });
  EXPECT_EQ(advertised.size(), described);
  EXPECT_EQ(advertised[17], std::make_pair(int16_t{0}, int16_t{1}));  // SaslHandshake
  EXPECT_EQ(advertised[36], std::make_pair(int16_t{0}, int16_t{2}));  // SaslAuthenticate
}

TEST_F(SaslTest, TheApiTableTakesEveryRangeFromTheMessageTable) {
  size_t rows = 0;
  for (const auto& h : api_handlers()) {
    ++rows;
    const bool found = visit_described_api(static_cast<int16_t>(h.key), [&](auto k) {
      using Desc = Messages<decltype(k)::value>;
      EXPECT_EQ(h.min_version, Desc::min_version);
      EXPECT_EQ(h.max_version, Desc::max_version);
    });
    EXPECT_TRUE(found) << "API key " << static_cast<int>(h.key) << " has no description";
    EXPECT_NE(h.handle, nullptr);
  }
  EXPECT_EQ(rows, DescribedApis::size);
}

TEST_F(SaslTest, SaslHandshakeAnswersUnsupportedMechanismWithNoneEnabled) {
  auto& c = connect();
  for (int16_t v = 0; v <= 1; ++v) {
    SaslHandshakeRequest req;
    req.mechanism = "PLAIN";
    auto resp = call<SaslHandshakeResponse>(c, ApiKey::sasl_handshake, v, req);
    EXPECT_EQ(resp.error_code, 33) << "v" << v;  // UNSUPPORTED_SASL_MECHANISM
    EXPECT_TRUE(resp.mechanisms.empty());
    EXPECT_FALSE(c.closed());
  }
  // The connection keeps working for everything else.
  auto md = call<MetadataResponse>(c, ApiKey::metadata, 8, MetadataRequest{});
  EXPECT_EQ(md.brokers.size(), 1u);
  EXPECT_FALSE(c.closed());
}

TEST_F(SaslTest, SaslAuthenticateAnswersIllegalSaslStateInEveryVersion) {
  auto& c = connect();
  for (int16_t v = 0; v <= 2; ++v) {  // v2 is flexible
    SaslAuthenticateRequest req;
    req.auth_bytes = {std::byte{0}, std::byte{'u'}, std::byte{0}, std::byte{'p'}};
    auto resp = call<SaslAuthenticateResponse>(c, ApiKey::sasl_authenticate, v, req);
    EXPECT_EQ(resp.error_code, 34) << "v" << v;  // ILLEGAL_SASL_STATE
    EXPECT_TRUE(resp.error_message.has_value());
    EXPECT_TRUE(resp.auth_bytes.empty());
    EXPECT_EQ(resp.session_lifetime_ms, 0);
    EXPECT_FALSE(c.closed());
  }
}

TEST_F(SaslTest, EachGroupApiIsDispatchedByItsOwnRow) {
  // A request to each group API for a group that does not exist gets that API's own answer.
  HeartbeatRequest hb;
  hb.group_id = "no-such-group";
  hb.generation_id = 1;
  hb.member_id = "m";
  EXPECT_EQ(call<HeartbeatResponse>(ApiKey::heartbeat, 3, hb).error_code, 25);  // UNKNOWN_MEMBER
  ListGroupsRequest lg;
  EXPECT_EQ(call<ListGroupsResponse>(ApiKey::list_groups, 2, lg).error_code, 0);
  DescribeGroupsRequest dg;
  dg.groups = {"no-such-group"};
  auto d = call<DescribeGroupsResponse>(ApiKey::describe_groups, 4, dg);
  ASSERT_EQ(d.groups.size(), 1u);
  EXPECT_EQ(d.groups[0].group_state, "Dead");
  for (const auto key :
       {ApiKey::join_group, ApiKey::sync_group, ApiKey::heartbeat, ApiKey::leave_group,
        ApiKey::offset_commit, ApiKey::offset_fetch, ApiKey::offset_delete, ApiKey::describe_groups,
        ApiKey::list_groups, ApiKey::delete_groups, ApiKey::find_coordinator}) {
    const ApiHandler* h = find_api_handler(static_cast<int16_t>(key));
    ASSERT_NE(h, nullptr);
    for (const ApiHandler& other : api_handlers()) {
      if (other.key != key) {
        EXPECT_NE(other.handle, h->handle)
            << api_name(static_cast<int16_t>(key)) << " shares its handler";
      }
    }
  }
}

}  // namespace
}  // namespace ferry::broker
