// Per-request fan-out for the admin handlers: one response with a result per item (topic,
// config resource), each item completed independently (often after a commit to the metadata
// store), the response sent when the last item completes.
//
// Threading: loop thread only; the completions run on the loop, possibly before fan_out()'s
// caller has started the next item.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "broker/kafka_error.h"
#include "broker/request.h"

namespace ferry::broker {

template <typename Response>
struct FanOut {
  Request request;
  Response response;
  size_t remaining = 0;

  // Marks one item complete; the last one sends the response.
  void one_done() {
    if (--remaining == 0) respond(request, response);
  }
};

// Takes over `r` (its body already decoded) for `items` items; `fill(response)` adds one
// result per item, in item order. With no items the response is sent at once and nullptr
// returned.
template <typename Response, typename Fill>
std::shared_ptr<FanOut<Response>> fan_out(Request&& r, size_t items, Fill&& fill) {
  auto st = std::make_shared<FanOut<Response>>();
  st->request = std::move(r);
  st->remaining = items;
  std::forward<Fill>(fill)(st->response);
  if (items != 0) return st;
  respond(st->request, st->response);
  return nullptr;
}

// Writes `e` into one result: its error code, and its message where the API has one.
template <typename Result>
void set_error(Result& result, const KafkaError& e) {
  result.error_code = e.wire();
  if constexpr (requires { result.error_message; }) result.error_message = e.wire_message();
}

// The completion of item `i`, whose result is (response.*results)[i]: records the error and
// completes the item.
template <typename Response, typename Results>
auto item_done(const std::shared_ptr<FanOut<Response>>& st, Results Response::*results, size_t i) {
  return [st, results, i](const KafkaError& e) {
    set_error((st->response.*results)[i], e);
    st->one_done();
  };
}

}  // namespace ferry::broker
