// Helpers for broker tests on a SASL listener: a SCRAM credential written to meta.db before
// the broker starts, and a SaslHandshake v1 + SaslAuthenticate exchange driven by the client's
// state machine.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "broker/auth/credentials.h"
#include "broker_fixture.h"
#include "client/sasl.h"
#include "meta/store.h"

namespace ferry::broker::test {

// Stores a credential in DIR/meta.db as `ferry users add --data-dir` does.
inline void add_user_offline(const std::string& data_dir, const std::string& user,
                             auth::Mechanism m, const std::string& password) {
  auto store = meta::MetaStore::open(data_dir + "/meta.db", nullptr);
  ASSERT_TRUE(store.ok()) << store.error().to_string();
  auto cred = auth::make_credential(user, m, password, 4096);
  ASSERT_TRUE(cred.ok());
  ASSERT_TRUE((*store)->submit_sync({meta::Mutation::put_scram_credential(*cred)}).ok());
  (*store)->close();
}

inline protocol::Bytes bytes_of(const std::string& s) {
  protocol::Bytes b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}

inline std::string string_of(const protocol::Bytes& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace ferry::broker::test
