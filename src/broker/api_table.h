// The Kafka APIs this broker answers: one row per API key with its handler. Each row's version
// range comes from the message table (protocol/messages.h, the only place versions are
// stated); ApiVersions is built from these rows and Broker::on_request dispatches through them.
#pragma once

#include <cstdint>
#include <span>

#include "broker/authz/api_rules.h"
#include "broker/request.h"
#include "protocol/api.h"

namespace ferry::broker {

class Broker;

struct ApiHandler {
  protocol::ApiKey key;
  int16_t min_version;
  int16_t max_version;
  // Listed in ApiVersions. Unlisted entries answer clients that send them anyway with an error.
  bool advertised;
  void (*handle)(Broker&, Request&&);
  // What the authorizer checks before the handler runs (authz/api_rules.h), and how this API
  // answers a request denied as a whole.
  authz::ApiRule authz;
  authz::AnswerAll answer_all;
};

std::span<const ApiHandler> api_handlers();
// The entry for `key`, or nullptr.
const ApiHandler* find_api_handler(int16_t key);

// One per API; each family's file under handlers/ is named in the comment.
void handle_api_versions(Broker&, Request&&);
void handle_metadata(Broker&, Request&&);
void handle_produce(Broker&, Request&&);
void handle_fetch(Broker&, Request&&);
void handle_list_offsets(Broker&, Request&&);
void handle_offset_for_leader_epoch(Broker&, Request&&);
void handle_create_topics(Broker&, Request&&);
void handle_delete_topics(Broker&, Request&&);
void handle_create_partitions(Broker&, Request&&);
void handle_describe_configs(Broker&, Request&&);
void handle_alter_configs(Broker&, Request&&);
void handle_incremental_alter_configs(Broker&, Request&&);
void handle_init_producer_id(Broker&, Request&&);
// Consumer groups and committed offsets: handlers/groups.cc.
void handle_find_coordinator(Broker&, Request&&);
void handle_join_group(Broker&, Request&&);
void handle_sync_group(Broker&, Request&&);
void handle_heartbeat(Broker&, Request&&);
void handle_leave_group(Broker&, Request&&);
void handle_offset_commit(Broker&, Request&&);
void handle_offset_fetch(Broker&, Request&&);
void handle_offset_delete(Broker&, Request&&);
void handle_describe_groups(Broker&, Request&&);
void handle_list_groups(Broker&, Request&&);
void handle_delete_groups(Broker&, Request&&);
// SASL: handlers/sasl.cc.
void handle_sasl_handshake(Broker&, Request&&);
void handle_sasl_authenticate(Broker&, Request&&);
// ACLs: handlers/acls.cc.
void handle_describe_acls(Broker&, Request&&);
void handle_create_acls(Broker&, Request&&);
void handle_delete_acls(Broker&, Request&&);
// SCRAM users: handlers/scram_credentials.cc.
void handle_describe_user_scram_credentials(Broker&, Request&&);
void handle_alter_user_scram_credentials(Broker&, Request&&);

}  // namespace ferry::broker
