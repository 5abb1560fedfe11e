// Running the loop until one asynchronous client call has completed: for command-line tools,
// which do one thing at a time.
//
//   auto r = run_until_done<protocol::ListGroupsResponse>(loop, [&](auto done) {
//     client.send_any<ApiKey::list_groups>({}, std::move(done));
//   });
//
// Runs on (and blocks) the loop thread; other handles on the loop keep being served meanwhile.
#pragma once

#include <uv.h>

#include <functional>
#include <optional>
#include <utility>

#include "client/kafka_error.h"

namespace ferry::client {

template <typename T, typename Start>
KafkaResult<T> run_until_done(uv_loop_t* loop, Start&& start) {
  std::optional<KafkaResult<T>> out;
  // uv_stop: a completion run by a timer before the loop would block in poll must not leave
  // uv_run waiting there for the next, unrelated event.
  start(std::function<void(KafkaResult<T>)>([&out, loop](KafkaResult<T> r) {
    out.emplace(std::move(r));
    uv_stop(loop);
  }));
  while (!out && uv_run(loop, UV_RUN_ONCE) != 0) {
  }
  if (!out) {
    return KafkaError::local(protocol::ErrorCode::unknown_server_error,
                             "the event loop stopped before the call completed");
  }
  return std::move(*out);
}

}  // namespace ferry::client
