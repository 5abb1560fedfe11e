// What the authorization check point (api_rules.h) leaves for a request's response: the items
// it took out of the request because they were denied (answered with their error code), and
// what the response must not show (topics or groups the principal may not describe).
//
// The check point removes denied items before the handler decodes the request, so a handler
// only ever sees what it may act on. respond() (request.h) calls merge() on the response the
// handler built, which adds the denied items back with their error codes and drops what must
// stay hidden; handlers do nothing for it.
//
// Threading: made on the loop by the check point; read on the loop when the response is sent.
#pragma once

#include <cassert>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace ferry::broker::authz {

struct Denied {
  struct Item {
    std::string name;                 // topic, group or config resource name
    std::vector<int32_t> partitions;  // topic items of partitioned requests
    int16_t error_code = 0;
    int8_t resource_type = 0;  // config resources only (DescribeConfigs, AlterConfigs)
  };
  std::vector<Item> items;
  // When set, response entries whose name it rejects are removed (Metadata and OffsetFetch
  // listing every topic, ListGroups without DESCRIBE on the cluster).
  std::function<bool(std::string_view)> visible;

  // Adds `items` to the response and applies `visible`; set by the check point for the API's
  // response type.
  void (*merge)(const Denied&, void* response) = nullptr;
  const std::type_info* response_type = nullptr;
};

// Applies `d` to `response` (the handler's response to the request `d` was made for).
template <typename M>
void merge_denied(const Denied& d, M& response) {
  assert(d.response_type != nullptr && *d.response_type == typeid(M));
  if (d.response_type != nullptr && *d.response_type == typeid(M)) d.merge(d, &response);
}

}  // namespace ferry::broker::authz
