// `ferry consume`: a client::Consumer on a private loop, printing what it polls.
//
// The loop runs until the command is finished (max messages, idle timeout, a signal or a fatal
// error); then the consumer closes (committing and leaving the group when it has one) and the
// client's connections are closed before the loop is torn down.
#include "app/consume_cmd.h"

#include <uv.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <utility>

#include "app/cli_common.h"
#include "app/cli_output.h"
#include "app/cli_session.h"
#include "client/consumer.h"

namespace ferry::app {
namespace {

constexpr std::string_view kCommand = "consume";

using client::ConsumerRecord;
using client::KafkaError;
using protocol::ErrorCode;

// ---- output -------------------------------------------------------------------------------------

// Whether `s` is well-formed UTF-8 (so that it can go into JSON as it is).
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    if (c < 0x80) {
      n = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      n = 1;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      n = 3;
    } else {
      return false;
    }
    if (s.size() - i - 1 < n) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

// Bytes as a JSON string: UTF-8 as it is; otherwise every byte >= 0x80 becomes the character
// U+0080..U+00FF of the same value, so that any bytes make valid JSON.
std::string json_text(std::string_view s) {
  if (valid_utf8(s)) return json_string(s);
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return json_string(out);
}

std::string json_bytes(const std::optional<std::string>& s) {
  return s ? json_text(*s) : std::string("null");
}

void print_record(const ConsumeArgs& a, const ConsumerRecord& r) {
  std::string line;
  if (a.json) {
    line = "{\"topic\":" + json_string(r.topic) + ",\"partition\":" + std::to_string(r.partition) +
           ",\"offset\":" + std::to_string(r.offset.value()) +
           ",\"timestamp\":" + std::to_string(r.timestamp) + ",\"key\":" + json_bytes(r.key) +
           ",\"value\":" + json_bytes(r.value) + ",\"headers\":[";
    for (size_t i = 0; i < r.headers.size(); ++i) {
      if (i > 0) line += ",";
      line += "{\"key\":" + json_text(r.headers[i].first) +
              ",\"value\":" + json_bytes(r.headers[i].second) + "}";
    }
    line += "]}";
  } else {
    if (a.print_partition) line += std::to_string(r.partition) + a.key_separator;
    if (a.print_offset) line += std::to_string(r.offset.value()) + a.key_separator;
    if (a.print_key) line += (r.key ? *r.key : std::string("null")) + a.key_separator;
    line += r.value ? *r.value : std::string("null");
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

// ---- running ------------------------------------------------------------------------------------

// --offset: a number >= 0, earliest or latest.
std::optional<client::SeekTarget> parse_offset(const std::string& s) {
  if (s == "earliest") return client::SeekTarget::earliest();
  if (s == "latest") return client::SeekTarget::latest();
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return client::SeekTarget::at(Offset(v));
}

// SIGINT / SIGTERM watcher; the handles are freed by their close callbacks.
class Signals {
 public:
  Signals(uv_loop_t* loop, std::function<void()> fn) : fn_(std::move(fn)) {
    for (int i = 0; i < 2; ++i) {
      h_[i] = new uv_signal_t;
      uv_signal_init(loop, h_[i]);
      h_[i]->data = this;
      uv_signal_start(
          h_[i],
          [](uv_signal_t* h, int) {
            auto* self = static_cast<Signals*>(h->data);
            if (self != nullptr && self->fn_) self->fn_();
          },
          i == 0 ? SIGINT : SIGTERM);
    }
  }
  ~Signals() {
    for (auto* h : h_) {
      h->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(h),
               [](uv_handle_t* x) { delete reinterpret_cast<uv_signal_t*>(x); });
    }
  }
  Signals(const Signals&) = delete;
  Signals& operator=(const Signals&) = delete;

 private:
  uv_signal_t* h_[2] = {};
  std::function<void()> fn_;
};

int consume(uv_loop_t* loop, client::Client& c, const ConsumeArgs& a) {
  auto md = client::run_until_done<protocol::MetadataResponse>(
      loop, [&](auto done) { c.metadata(std::vector<std::string>{a.topic}, std::move(done)); });
  if (!md) return kafka_failure(kCommand, md.error());
  std::vector<client::TopicPartition> partitions;
  for (const auto& t : md->topics) {
    if (t.name != a.topic) continue;
    if (t.error_code != 0)
      return kafka_failure(kCommand, KafkaError::broker(t.error_code, "topic '" + t.name + "'"));
    for (const auto& p : t.partitions) partitions.push_back({t.name, p.partition_index});
  }
  if (partitions.empty()) {
    return kafka_failure(kCommand, KafkaError::broker(ErrorCode::unknown_topic_or_partition,
                                                      "topic '" + a.topic + "'"));
  }
  if (a.partition) {
    const client::TopicPartition tp{a.topic, *a.partition};
    if (std::find(partitions.begin(), partitions.end(), tp) == partitions.end()) {
      return kafka_failure(
          kCommand, KafkaError::broker(ErrorCode::unknown_topic_or_partition,
                                       "partition " + std::to_string(*a.partition) + " of topic '" +
                                           a.topic + "'"));
    }
    partitions = {tp};
  }

  client::ConsumerConfig cfg;
  cfg.group_id = a.group;
  cfg.auto_offset_reset =
      a.from_beginning ? client::OffsetReset::earliest : client::OffsetReset::latest;
  cfg.enable_auto_commit = a.group.has_value();
  cfg.rebalance_timeout_ms = 10'000;
  client::Consumer consumer(c, cfg);

  bool finished = false;
  int rc = kOk;
  int64_t printed = 0;
  UvTimer idle(loop);
  auto finish = [&](int code) {
    if (finished) return;
    finished = true;
    rc = code;
    idle.stop();
    uv_stop(loop);
  };
  auto arm_idle = [&] {
    if (a.timeout_ms) idle.start(*a.timeout_ms, [&] { finish(kOk); });
  };
  Signals signals(loop, [&] { finish(kOk); });

  consumer.on_error([&](const KafkaError& e) {
    if (finished) return;
    rc = kafka_failure(kCommand, e);
    finish(kKafkaError);
  });
  consumer.on_records([&] {
    if (finished) return;
    const size_t want = a.max_messages ? static_cast<size_t>(*a.max_messages - printed) : 1024;
    auto records = consumer.poll(std::min<size_t>(want, 1024));
    for (const auto& r : records) print_record(a, r);
    std::fflush(stdout);
    printed += static_cast<int64_t>(records.size());
    if (a.max_messages && printed >= *a.max_messages) {
      finish(kOk);
      return;
    }
    arm_idle();
  });
  if (a.max_messages && *a.max_messages == 0) return kOk;

  if (a.group) {
    // The idle clock starts once the group has handed out partitions.
    consumer.on_assignment([&](const auto&) { arm_idle(); });
    consumer.subscribe({a.topic});
  } else {
    consumer.assign(partitions);
    for (const auto& tp : partitions) {
      if (a.offset) {
        consumer.seek(tp, *parse_offset(*a.offset));
      } else {
        consumer.seek(
            tp, a.from_beginning ? client::SeekTarget::earliest() : client::SeekTarget::latest());
      }
    }
    arm_idle();
  }
  while (!finished && uv_run(loop, UV_RUN_ONCE) != 0) {
  }

  // Close: commit (in a group) and leave, bounded by the request timeout of the client.
  bool closed = false;
  consumer.close([&] {
    closed = true;
    uv_stop(loop);
  });
  while (!closed && uv_run(loop, UV_RUN_ONCE) != 0) {
  }
  return rc;
}

}  // namespace

CLI::App* add_consume_command(CLI::App& app, ConsumeArgs& a) {
  auto* c = app.add_subcommand("consume", "Print the records of a topic");
  c->add_option("--bootstrap", a.bootstrap, "HOST:PORT of a broker (default 127.0.0.1:9092)");
  add_sasl_options(c, a.sasl);
  c->add_option("--topic", a.topic, "The topic to read")->required();
  c->add_flag("--from-beginning", a.from_beginning,
              "Start at the log start when there is no committed offset (default: the end)");
  c->add_option("--group", a.group, "Consume as a member of this group and commit");
  c->add_option("--max-messages", a.max_messages, "Stop after this many records")
      ->check(CLI::Range(int64_t{0}, INT64_MAX));
  c->add_option("--partition", a.partition, "Read only this partition")
      ->check(CLI::Range(0, INT32_MAX));
  c->add_option("--offset", a.offset, "With --partition: start at this offset, earliest or latest");
  c->add_flag("--print-key", a.print_key, "Print the key before the value");
  c->add_flag("--print-offset", a.print_offset, "Print the offset before the key and value");
  c->add_flag("--print-partition", a.print_partition, "Print the partition first");
  c->add_option("--key-separator", a.key_separator, "Between the printed fields (default TAB)");
  c->add_option("--timeout-ms", a.timeout_ms, "Stop after this long without a new record")
      ->check(CLI::Range(1u, 86'400'000u));
  c->add_flag("--json", a.json, "One JSON object per record");
  return c;
}

int run_consume(const ConsumeArgs& args) {
  if (args.topic.empty()) return usage(kCommand, "--topic is required");
  if (args.offset && !args.partition) return usage(kCommand, "--offset needs --partition");
  if (args.offset && !parse_offset(*args.offset))
    return usage(kCommand,
                 "--offset '" + *args.offset + "': expected a number, earliest or latest");
  if (args.group && args.partition) return usage(kCommand, "--partition does not go with --group");
  auto bootstrap = parse_bootstrap(args.bootstrap);
  if (!bootstrap) return usage(kCommand, bootstrap.error().message());
  auto sasl = security_config(args.sasl);
  if (!sasl) return usage(kCommand, sasl.error().message());

  // The request timeout outlasts a long-poll Fetch and a JoinGroup waiting for a rebalance.
  Session session(*bootstrap, 30'000, "ferry-consume", std::move(sasl).value());
  const int rc = consume(session.loop(), session.client(), args);
  return rc;
}

}  // namespace ferry::app
