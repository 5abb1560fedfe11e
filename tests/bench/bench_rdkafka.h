// librdkafka helpers shared by the benchmarks that drive a broker with librdkafka (broker_bench,
// latency_bench, nats_bench): setting a property, creating a client and creating a topic through
// the Admin API, each dying with the cause on failure (bench::die).
//
// Header-only; every call runs on the caller's thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>

#include "bench_proc.h"

namespace bench {

inline constexpr int kAdminTimeoutMs = 15000;

inline void set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    die(std::string("config ") + key + ": " + err);
}

inline rd_kafka_t* make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) die(std::string("rd_kafka_new: ") + err);
  return rk;
}

// Creates `topic` with `partitions` partitions (replication factor 1) on `bootstrap`.
inline void create_topic(const std::string& bootstrap, const std::string& topic, int partitions) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, conf);
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
  if (!nt) die(std::string("NewTopic: ") + err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, kAdminTimeoutMs, err, sizeof err);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, kAdminTimeoutMs + 5000);
  if (!ev) die("CreateTopics " + topic + " on " + bootstrap + ": no answer");
  if (rd_kafka_event_error(ev))
    die("CreateTopics " + topic + ": " + rd_kafka_event_error_string(ev));
  size_t n = 0;
  const rd_kafka_topic_result_t** res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  for (size_t i = 0; i < n; ++i)
    if (rd_kafka_topic_result_error(res[i]))
      die("CreateTopics " + topic + ": " + rd_kafka_err2str(rd_kafka_topic_result_error(res[i])));
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
}

}  // namespace bench
