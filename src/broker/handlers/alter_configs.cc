// AlterConfigs (key 33) replaces a topic's configs with the given set;
// IncrementalAlterConfigs (key 44) applies SET / DELETE / APPEND / SUBTRACT per key.
// Broker settings are static (ferry.toml): changing them is answered INVALID_REQUEST.
#include <memory>
#include <sstream>

#include "broker/api_table.h"
#include "broker/broker.h"
#include "config/keys.h"
#include "config/topic_config.h"
#include "protocol/messages/configs.h"

namespace ferry::broker {
namespace {

constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;

enum Op : int8_t { kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3 };

struct AlterState {
  Request request;
  std::vector<protocol::AlterConfigsResourceResponse> responses;
  size_t remaining = 0;
  bool incremental = false;

  void one_done() {
    if (--remaining != 0) return;
    if (incremental) {
      protocol::IncrementalAlterConfigsResponse resp;
      resp.responses = std::move(responses);
      respond(request, resp);
    } else {
      protocol::AlterConfigsResponse resp;
      resp.responses = std::move(responses);
      respond(request, resp);
    }
  }
};

KafkaError resource_error(int8_t type) {
  if (type == kBrokerResource) {
    return {ErrorCode::invalid_request,
            "Broker settings are static in this broker: change them in its TOML config file"};
  }
  return {ErrorCode::invalid_request, "Unsupported resource type " + std::to_string(type)};
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

template <typename Resources>
std::shared_ptr<AlterState> start(Request&& r, const Resources& resources, bool incremental) {
  auto st = std::make_shared<AlterState>();
  st->request = std::move(r);
  st->incremental = incremental;
  st->remaining = resources.size();
  for (const auto& res : resources) {
    protocol::AlterConfigsResourceResponse out;
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    st->responses.push_back(std::move(out));
  }
  return st;
}

auto completion(const std::shared_ptr<AlterState>& st, size_t i) {
  return [st, i](const KafkaError& e) {
    st->responses[i].error_code = e.wire();
    st->responses[i].error_message = e.wire_message();
    st->one_done();
  };
}

}  // namespace

void handle_alter_configs(Broker& b, Request&& r) {
  protocol::AlterConfigsRequest req;
  if (!decode_body(r, req)) return;
  auto st = start(std::move(r), req.resources, false);
  if (req.resources.empty()) {
    st->remaining = 1;
    st->one_done();
    return;
  }
  for (size_t i = 0; i < req.resources.size(); ++i) {
    const auto& res = req.resources[i];
    auto done = completion(st, i);
    if (res.resource_type != kTopicResource) {
      done(resource_error(res.resource_type));
      continue;
    }
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
                             req.validate_only, done);
  }
}

void handle_incremental_alter_configs(Broker& b, Request&& r) {
  protocol::IncrementalAlterConfigsRequest req;
  if (!decode_body(r, req)) return;
  auto st = start(std::move(r), req.resources, true);
  if (req.resources.empty()) {
    st->remaining = 1;
    st->one_done();
    return;
  }
  for (size_t i = 0; i < req.resources.size(); ++i) {
    const auto& res = req.resources[i];
    auto done = completion(st, i);
    if (res.resource_type != kTopicResource) {
      done(resource_error(res.resource_type));
      continue;
    }
    const Topic* t = b.topics().find(res.resource_name);
    if (t == nullptr) {
      done({ErrorCode::unknown_topic_or_partition,
            "The topic '" + res.resource_name + "' does not exist."});
      continue;
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
      continue;
    }
    b.topics().alter_configs(res.resource_name, std::move(set), std::move(remove), false,
                             req.validate_only, done);
  }
}

}  // namespace ferry::broker
