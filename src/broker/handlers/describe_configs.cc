// DescribeConfigs (key 32): topic configs (effective value and source) and this broker's
// static settings.
#include <algorithm>

#include "broker/api_table.h"
#include "broker/broker.h"
#include "broker/handlers/config_resource.h"
#include "config/topic_config.h"
#include "protocol/messages/configs.h"

namespace ferry::broker {
namespace {

using Result = protocol::DescribeConfigsResponse::Result;

void fill(Result& out, const std::vector<config::ConfigEntry>& entries,
          const std::optional<std::vector<std::string>>& keys,
          const protocol::DescribeConfigsRequest& req) {
  for (const auto& e : entries) {
    if (keys && std::find(keys->begin(), keys->end(), e.name) == keys->end()) continue;
    Result::Config c;
    c.name = e.name;
    c.value = e.value;
    c.read_only = e.read_only;
    c.is_default = e.source == config::ConfigEntry::Source::default_config;
    c.config_source = static_cast<int8_t>(e.source);
    c.is_sensitive = e.sensitive;
    if (req.include_synonyms) c.synonyms.push_back({e.name, e.value, c.config_source});
    c.config_type = e.type;
    if (req.include_documentation) c.documentation = e.documentation;
    out.configs.push_back(std::move(c));
  }
}

}  // namespace

void handle_describe_configs(Broker& b, Request&& r) {
  protocol::DescribeConfigsRequest req;
  if (!decode_body(r, req)) return;
  protocol::DescribeConfigsResponse resp;
  for (const auto& res : req.resources) {
    Result out;
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (res.resource_type == kTopicResource) {
      const Topic* t = b.topics().find(res.resource_name);
      if (t == nullptr) {
        out.error_code = static_cast<int16_t>(ErrorCode::unknown_topic_or_partition);
        out.error_message = "Topic " + res.resource_name + " does not exist";
      } else {
        fill(out, config::describe_topic_configs(t->record.configs, b.config()),
             res.configuration_keys, req);
      }
    } else if (res.resource_type == kBrokerResource) {
      if (!res.resource_name.empty() && res.resource_name != std::to_string(b.config().node_id)) {
        out.error_code = static_cast<int16_t>(ErrorCode::invalid_request);
        out.error_message = "Unexpected broker id, expected " + std::to_string(b.config().node_id) +
                            " or empty string, but received " + res.resource_name;
      } else {
        fill(out, config::describe_broker_configs(b.config()), res.configuration_keys, req);
      }
    } else {
      const KafkaError e = unsupported_resource(res.resource_type);
      out.error_code = e.wire();
      out.error_message = e.wire_message();
    }
    resp.results.push_back(std::move(out));
  }
  respond(r, resp);
}

}  // namespace ferry::broker
