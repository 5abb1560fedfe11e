// AlterConfigs (key 33) replaces a topic's configs with the given set;
// IncrementalAlterConfigs (key 44) applies SET / DELETE / APPEND / SUBTRACT per key.
// Broker settings are static (ferry.toml): changing them is answered INVALID_REQUEST.
#include <functional>
#include <memory>
#include <sstream>

#include "broker/api_table.h"
#include "broker/broker.h"
#include "broker/handlers/config_resource.h"
#include "broker/handlers/fan_out.h"
#include "config/keys.h"
#include "config/topic_config.h"
#include "protocol/messages/configs.h"

namespace ferry::broker {
namespace {

enum Op : int8_t { kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3 };

KafkaError resource_error(int8_t type) {
  if (type == kBrokerResource) {
    return {ErrorCode::invalid_request,
            "Broker settings are static in this broker: change them in its TOML config file"};
  }
  return unsupported_resource(type);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto t = std::string(config::trim(item));
    if (!t.empty()) out.push_back(t);
  }
  return out;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

using Done = std::function<void(const KafkaError&)>;

// What AlterConfigs and IncrementalAlterConfigs share: decode, one result per resource in
// request order, resources other than topics refused; `alter(req, resource, done)` handles each
// topic resource and calls `done` once.
template <typename Req, typename Resp, typename Alter>
void for_each_topic_resource(Request&& r, Alter&& alter) {
  Req req;
  if (!decode_body(r, req)) return;
  auto st = fan_out<Resp>(std::move(r), req.resources.size(), [&](Resp& resp) {
    for (const auto& res : req.resources) {
      protocol::AlterConfigsResourceResponse out;
      out.resource_type = res.resource_type;
      out.resource_name = res.resource_name;
      resp.responses.push_back(std::move(out));
    }
  });
  if (!st) return;
  for (size_t i = 0; i < req.resources.size(); ++i) {
    const auto& res = req.resources[i];
    Done done = item_done(st, &Resp::responses, i);
    if (res.resource_type != kTopicResource) {
      done(resource_error(res.resource_type));
      continue;
    }
    alter(req, res, std::move(done));
  }
}

}  // namespace

void handle_alter_configs(Broker& b, Request&& r) {
  using Req = protocol::AlterConfigsRequest;
  for_each_topic_resource<Req, protocol::AlterConfigsResponse>(
      std::move(r), [&b](const Req& req, const Req::Resource& res, Done done) {
        std::map<std::string, std::string> set;
        std::vector<std::string> remove;
        for (const auto& c : res.configs) {
          if (c.value) {
            set[c.name] = *c.value;
          } else {
            remove.push_back(c.name);
          }
        }
        b.topics().alter_configs(res.resource_name, std::move(set), std::move(remove), true,
                                 req.validate_only, std::move(done));
      });
}

void handle_incremental_alter_configs(Broker& b, Request&& r) {
  using Req = protocol::IncrementalAlterConfigsRequest;
  for_each_topic_resource<Req, protocol::IncrementalAlterConfigsResponse>(
      std::move(r), [&b](const Req& req, const Req::Resource& res, Done done) {
        const Topic* t = b.topics().find(res.resource_name);
        if (t == nullptr) {
          done({ErrorCode::unknown_topic_or_partition,
                "The topic '" + res.resource_name + "' does not exist."});
          return;
        }
        std::map<std::string, std::string> set;
        std::vector<std::string> remove;
        KafkaError error;
        for (const auto& c : res.configs) {
          const auto* key = config::find_key(config::Section::topic, c.name);
          if (key == nullptr) {
            error = {ErrorCode::invalid_config, "Unknown topic config name: " + c.name};
            break;
          }
          switch (c.config_operation) {
            case kSet:
              if (!c.value) {
                error = {ErrorCode::invalid_request, "Null value not supported for SET: " + c.name};
              } else {
                set[c.name] = *c.value;
              }
              break;
            case kDelete: remove.push_back(c.name); break;
            case kAppend:
            case kSubtract: {
              if (key->type != config::Type::list) {
                error = {ErrorCode::invalid_config,
                         "Config value append/subtract is not allowed for config key: " + c.name};
                break;
              }
              // The current effective value, as DescribeConfigs reports it.
              std::string current;
              for (const auto& e : config::describe_topic_configs(t->record.configs, b.config())) {
                if (e.name == c.name && e.value) current = *e.value;
              }
              auto items = split_list(current);
              for (const auto& v : split_list(c.value.value_or(""))) {
                auto it = std::find(items.begin(), items.end(), v);
                if (c.config_operation == kAppend && it == items.end()) items.push_back(v);
                if (c.config_operation == kSubtract && it != items.end()) items.erase(it);
              }
              set[c.name] = join_list(items);
              break;
            }
            default:
              error = {ErrorCode::invalid_request,
                       "Unknown config operation " + std::to_string(c.config_operation)};
          }
          if (!error.ok()) break;
        }
        if (!error.ok()) {
          done(error);
          return;
        }
        b.topics().alter_configs(res.resource_name, std::move(set), std::move(remove), false,
                                 req.validate_only, std::move(done));
      });
}

}  // namespace ferry::broker
