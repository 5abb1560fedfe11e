// GroupAdmin: group requests at the coordinator (found again when it moved), offset lookups at
// the leaders, and their answers turned into plain values.
#include "client/group_admin.h"

#include <algorithm>
#include <memory>
#include <set>
#include <utility>

#include "common/uv_timer.h"

namespace ferry::client {

using protocol::ApiKey;
using protocol::ErrorCode;

namespace {

template <ApiKey K>
using Req = typename protocol::Messages<K>::Request;
template <ApiKey K>
using Resp = typename protocol::Messages<K>::Response;

std::optional<KafkaError> item_error(int16_t code) {
  if (code == 0) return std::nullopt;
  return KafkaError::broker(code);
}

bool coordinator_error(int16_t code) {
  return code != 0 && Client::is_coordinator_error(static_cast<ErrorCode>(code));
}

// Runs `fn` on a later loop turn (after `ms`).
void later(uv_loop_t* loop, uint64_t ms, std::function<void()> fn) {
  auto* timer = new UvTimer(loop);
  timer->start(ms, [timer, fn = std::move(fn)] {
    delete timer;  // the running callback is a copy: safe to go first
    fn();
  });
}

// Sends `req` to the coordinator of `group`. When the answer (or FindCoordinator) says the
// coordinator moved - `moved` looks inside the answer - the coordinator is forgotten and the
// request sent again after a backoff, at most `options.coordinator_retries` more times; the last
// answer is given to `done` as it is.
template <ApiKey K>
void at_coordinator(Client* client, GroupAdminOptions options, std::string group, Req<K> req,
                    std::function<bool(const Resp<K>&)> moved, Client::Callback<K> done,
                    int attempt = 0) {
  Req<K> copy = req;
  client->send_to_coordinator<K>(
      group, std::move(copy),
      [client, options, group, req = std::move(req), moved = std::move(moved),
       done = std::move(done), attempt](KafkaResult<Resp<K>> r) mutable {
        const bool retry =
            r ? moved(*r)
              : r.error().from_broker() && Client::is_coordinator_error(r.error().code());
        if (!retry) {
          done(std::move(r));
          return;
        }
        client->forget_coordinator(group);
        if (attempt >= options.coordinator_retries) {
          done(std::move(r));
          return;
        }
        later(client->loop(), options.retry_backoff_ms,
              [client, options, group = std::move(group), req = std::move(req),
               moved = std::move(moved), done = std::move(done), attempt]() mutable {
                at_coordinator<K>(client, options, std::move(group), std::move(req),
                                  std::move(moved), std::move(done), attempt + 1);
              });
      });
}

// The state of one call made of several requests answered in any order.
template <typename T>
struct Gather {
  T out{};
  size_t pending = 0;
  std::optional<KafkaError> failed;
  std::function<void(KafkaResult<T>)> done;

  // One request finished; the last one completes the call.
  void finish() {
    if (--pending > 0) return;
    if (failed) {
      done(std::move(*failed));
    } else {
      done(std::move(out));
    }
  }
};

// One request per group, each at that group's coordinator (at_coordinator: sent again when the
// coordinator moved), gathered into one entry per group in the order asked. `request(group)`
// builds a group's request; `items(response)` is the response's per-group list (one item, as
// one group was asked); `fill(entry, item)` copies the item into the entry.
// A request that fails as a whole fails the call; an item's error goes into its entry.
template <ApiKey K, typename Entry, typename Request, typename Items, typename Fill>
void per_group(Client& client, GroupAdminOptions options, const std::vector<std::string>& groups,
               Request request, Items items, Fill fill,
               std::function<void(KafkaResult<std::vector<Entry>>)> done) {
  auto g = std::make_shared<Gather<std::vector<Entry>>>();
  g->done = std::move(done);
  g->out.resize(groups.size());
  g->pending = groups.size() + 1;
  for (size_t i = 0; i < groups.size(); ++i) {
    g->out[i].group_id = groups[i];
    at_coordinator<K>(
        &client, options, groups[i], request(groups[i]),
        [items](const Resp<K>& r) {
          const auto& list = items(r);
          return std::any_of(list.begin(), list.end(),
                             [](const auto& x) { return coordinator_error(x.error_code); });
        },
        [g, i, items, fill](KafkaResult<Resp<K>> r) {
          Entry& e = g->out[i];
          if (!r) {
            if (!g->failed) g->failed = std::move(r).error();
          } else if (auto& list = items(*r); list.empty()) {
            e.error = KafkaError::local(
                ErrorCode::unknown_server_error,
                std::string("empty ") + std::string(protocol::api_name(static_cast<int16_t>(K))) +
                    " answer");
          } else {
            e.error = item_error(list.front().error_code);
            fill(e, list.front());
          }
          g->finish();
        });
  }
  // The call completes on a later loop turn, also when no group was asked.
  later(client.loop(), 0, [g] { g->finish(); });
}

}  // namespace

GroupAdmin::GroupAdmin(Client& client, GroupAdminOptions options)
    : client_(client), options_(options) {}

void GroupAdmin::list_offsets(std::map<TopicPartition, OffsetSpec> partitions,
                              Done<std::map<TopicPartition, ListedOffset>> done) {
  using Out = std::map<TopicPartition, ListedOffset>;
  if (partitions.empty()) {
    later(client_.loop(), 0, [done = std::move(done)] { done(Out{}); });
    return;
  }
  std::set<std::string> topics;
  for (const auto& [tp, spec] : partitions) topics.insert(tp.topic);
  // First the leaders of every topic (from the cache, or one Metadata request), then one
  // ListOffsets per leader.
  struct Lookup {
    std::map<TopicPartition, OffsetSpec> partitions;
    std::map<std::string, KafkaResult<TopicMetadata>> metadata;
    size_t pending = 0;
  };
  auto lookup = std::make_shared<Lookup>();
  lookup->partitions = std::move(partitions);
  lookup->pending = topics.size();
  Client* client = &client_;
  auto send = [client, lookup, done = std::move(done)]() {
    auto g = std::make_shared<Gather<Out>>();
    g->done = done;
    std::map<int32_t, protocol::ListOffsetsRequest> by_leader;
    for (const auto& [tp, spec] : lookup->partitions) {
      const auto& md = lookup->metadata.at(tp.topic);
      if (!md) {
        g->out[tp].error = md.error();
        continue;
      }
      const auto& parts = md->partitions;
      const int32_t wanted = tp.partition;
      auto p = std::find_if(parts.begin(), parts.end(),
                            [wanted](const auto& x) { return x.partition == wanted; });
      if (p == parts.end()) {
        g->out[tp].error = KafkaError::broker(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      if (p->leader.value() < 0) {
        g->out[tp].error = KafkaError::broker(ErrorCode::leader_not_available);
        client->invalidate_metadata(tp.topic);
        continue;
      }
      auto& req = by_leader[p->leader.value()];
      topic_entry(req.topics, tp.topic, &protocol::ListOffsetsRequest::Topic::name);
      protocol::ListOffsetsRequest::Topic::Partition rp;
      rp.partition_index = tp.partition;
      rp.timestamp = spec.timestamp;
      req.topics.back().partitions.push_back(rp);
    }
    // A call completes on a later loop turn: with nothing to ask, after a zero timer.
    g->pending = by_leader.size() + 1;
    for (auto& [leader, req] : by_leader) {
      client->send_to_node<ApiKey::list_offsets>(
          NodeId(leader), std::move(req),
          [client, g](KafkaResult<protocol::ListOffsetsResponse> r) {
            if (!r) {
              if (!g->failed) g->failed = std::move(r).error();
            } else {
              for (const auto& t : r->topics) {
                for (const auto& p : t.partitions) {
                  auto& e = g->out[{t.name, p.partition_index}];
                  e.error = item_error(p.error_code);
                  if (e.error) {
                    if (Client::is_leader_error(static_cast<ErrorCode>(p.error_code)))
                      client->invalidate_metadata(t.name);
                    continue;
                  }
                  e.offset = Offset(p.offset);
                  if (p.offset < 0 && !p.old_style_offsets.empty())
                    e.offset = Offset(p.old_style_offsets.front());
                  e.timestamp = p.timestamp;
                }
              }
            }
            g->finish();
          });
    }
    later(client->loop(), 0, [g] { g->finish(); });
  };
  for (const auto& topic : topics) {
    client_.topic_metadata(topic, [lookup, topic, send](KafkaResult<TopicMetadata> md) {
      lookup->metadata.emplace(topic, std::move(md));
      if (--lookup->pending == 0) send();
    });
  }
}

void GroupAdmin::list_groups(Done<std::vector<GroupListing>> done) {
  Client* client = &client_;
  client_.metadata(std::vector<std::string>{},
                   [client, done = std::move(done)](KafkaResult<protocol::MetadataResponse> md) {
                     if (!md) {
                       done(std::move(md).error());
                       return;
                     }
                     auto g = std::make_shared<Gather<std::map<std::string, std::string>>>();
                     g->done = [done](KafkaResult<std::map<std::string, std::string>> r) {
                       if (!r) {
                         done(std::move(r).error());
                         return;
                       }
                       std::vector<GroupListing> out;
                       for (auto& [id, type] : *r) out.push_back({id, std::move(type)});
                       done(std::move(out));
                     };
                     g->pending = md->brokers.size() + 1;
                     for (const auto& b : md->brokers) {
                       client->send_to_node<ApiKey::list_groups>(
                           NodeId(b.node_id), {}, [g](KafkaResult<protocol::ListGroupsResponse> r) {
                             if (!r) {
                               if (!g->failed) g->failed = std::move(r).error();
                             } else if (r->error_code != 0) {
                               if (!g->failed) g->failed = KafkaError::broker(r->error_code);
                             } else {
                               for (auto& grp : r->groups)
                                 g->out[grp.group_id] = std::move(grp.protocol_type);
                             }
                             g->finish();
                           });
                     }
                     g->finish();  // this callback already runs after the call returned
                   });
}

void GroupAdmin::describe_groups(std::vector<std::string> groups,
                                 Done<std::vector<GroupDescription>> done) {
  per_group<ApiKey::describe_groups, GroupDescription>(
      client_, options_, groups,
      [](const std::string& group) {
        protocol::DescribeGroupsRequest req;
        req.groups = {group};
        return req;
      },
      [](auto& r) -> auto& { return r.groups; },
      [](GroupDescription& d, auto& a) {
        d.state = std::move(a.group_state);
        d.protocol_type = std::move(a.protocol_type);
        d.protocol = std::move(a.protocol_data);
        for (auto& m : a.members) {
          d.members.push_back({std::move(m.member_id), std::move(m.group_instance_id),
                               std::move(m.client_id), std::move(m.client_host),
                               std::move(m.member_metadata), std::move(m.member_assignment)});
        }
      },
      std::move(done));
}

void GroupAdmin::delete_groups(std::vector<std::string> groups,
                               Done<std::vector<GroupOutcome>> done) {
  per_group<ApiKey::delete_groups, GroupOutcome>(
      client_, options_, groups,
      [](const std::string& group) {
        protocol::DeleteGroupsRequest req;
        req.groups_names = {group};
        return req;
      },
      [](auto& r) -> auto& { return r.results; }, [](GroupOutcome&, const auto&) {},
      std::move(done));
}

void GroupAdmin::committed_offsets(const std::string& group,
                                   std::optional<std::vector<TopicPartition>> partitions,
                                   Done<std::map<TopicPartition, CommittedOffset>> done) {
  protocol::OffsetFetchRequest req;
  req.group_id = group;
  if (!partitions) {
    req.topics.reset();
  } else {
    for (const auto& tp : *partitions) {
      auto t = std::find_if(req.topics->begin(), req.topics->end(),
                            [&](const auto& x) { return x.name == tp.topic; });
      if (t == req.topics->end()) {
        req.topics->emplace_back();
        t = req.topics->end() - 1;
        t->name = tp.topic;
      }
      t->partition_indexes.push_back(tp.partition);
    }
  }
  at_coordinator<ApiKey::offset_fetch>(
      &client_, options_, group, std::move(req),
      [](const protocol::OffsetFetchResponse& r) {
        if (coordinator_error(r.error_code)) return true;
        for (const auto& t : r.topics) {
          for (const auto& p : t.partitions)
            if (coordinator_error(p.error_code)) return true;
        }
        return false;
      },
      [done = std::move(done)](KafkaResult<protocol::OffsetFetchResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        if (r->error_code != 0) {
          done(KafkaError::broker(r->error_code));
          return;
        }
        std::map<TopicPartition, CommittedOffset> out;
        for (auto& t : r->topics) {
          for (auto& p : t.partitions) {
            out[{t.name, p.partition_index}] = {Offset(p.committed_offset), std::move(p.metadata),
                                                item_error(p.error_code)};
          }
        }
        done(std::move(out));
      });
}

void GroupAdmin::alter_committed_offsets(
    const std::string& group, std::map<TopicPartition, Offset> offsets,
    Done<std::map<TopicPartition, std::optional<KafkaError>>> done) {
  protocol::OffsetCommitRequest req;
  req.group_id = group;
  req.generation_id_or_member_epoch = -1;
  req.member_id = "";
  for (const auto& [tp, off] : offsets) {  // sorted: a topic's partitions are together
    topic_entry(req.topics, tp.topic, &protocol::OffsetCommitRequest::Topic::name);
    protocol::OffsetCommitRequest::Topic::Partition p;
    p.partition_index = tp.partition;
    p.committed_offset = off.value();
    p.committed_metadata = "";
    req.topics.back().partitions.push_back(p);
  }
  at_coordinator<ApiKey::offset_commit>(
      &client_, options_, group, std::move(req),
      [](const protocol::OffsetCommitResponse& r) {
        for (const auto& t : r.topics) {
          for (const auto& p : t.partitions)
            if (coordinator_error(p.error_code)) return true;
        }
        return false;
      },
      [done = std::move(done)](KafkaResult<protocol::OffsetCommitResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        std::map<TopicPartition, std::optional<KafkaError>> out;
        for (const auto& t : r->topics) {
          for (const auto& p : t.partitions)
            out[{t.name, p.partition_index}] = item_error(p.error_code);
        }
        done(std::move(out));
      });
}

}  // namespace ferry::client
