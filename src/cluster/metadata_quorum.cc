// The metadata quorum. See metadata_quorum.h.
#include "cluster/metadata_quorum.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "common/clock.h"
#include "common/log.h"
#include "protocol/record_batch.h"

namespace ferry::cluster {
namespace {

const GroupId kMetadataGroup = metadata_group();

broker::KafkaError not_controller(NodeId controller) {
  return {broker::ErrorCode::not_controller,
          "This node is not the controller (the controller is node " +
              std::to_string(controller.value()) + ")."};
}

}  // namespace

MetadataQuorum::MetadataQuorum(uv_loop_t* loop, const config::BrokerConfig& config,
                               std::vector<NodeId> nodes, meta::MetaStore& meta,
                               ReplicaManager& replicas, PeerTransport& transport)
    : broker::TopicQuorum(NodeId(config.node_id)),
      loop_(loop),
      config_(config),
      nodes_(std::move(nodes)),
      meta_(meta),
      replicas_(replicas),
      transport_(transport),
      timeout_timer_(loop) {
  std::sort(nodes_.begin(), nodes_.end());
}

MetadataQuorum::~MetadataQuorum() { *alive_ = false; }

Status MetadataQuorum::open(const std::string& data_dir, std::string own_cluster_id,
                            std::function<void(const std::string&)> on_cluster_id) {
  own_cluster_id_ = std::move(own_cluster_id);
  on_cluster_id_ = std::move(on_cluster_id);
  auto identity = load_cluster_identity(meta_.reader());
  if (!identity) return std::move(identity).error();
  cluster_id_ = std::move(*identity);
  // Until the cluster's id is agreed this node reports none (not its own, which would differ
  // from the others').
  if (on_cluster_id_) on_cluster_id_(cluster_id_);
  storage::LogConfig lc;
  lc.segment_bytes = 8u << 20;
  storage::LogOptions options;
  options.loop = loop_;
  auto log = storage::Log::open(data_dir + "/cluster/metadata", lc, options);
  if (!log) return std::move(log).error();
  partition_ = std::make_shared<broker::Partition>(std::string(kMetadataTopic), kMetadataPartition,
                                                   std::move(*log), nullptr,
                                                   broker::Partition::Commit::by_replication);
  partition_->set_replicas({kNoNode, nodes_, {}, {}}, false);
  auto a = load_assignments(meta_.reader());
  if (!a) return std::move(a).error();
  assignments_ = std::move(*a);
  auto applied = load_applied(meta_.reader());
  if (!applied) return std::move(applied).error();
  applied_ = *applied;
  return {};
}

Status MetadataQuorum::start(broker::TopicManager& topics, broker::GroupCoordinator& groups) {
  topics_ = &topics;
  groups_ = &groups;
  groups.set_quorum(this);
  groups.coordinator_changed(false);  // what it loaded is served once this node coordinates
  FERRY_TRY(replicas_.add_group(kMetadataGroup, partition_, nodes_));
  check_timeouts();
  apply_committed();
  return {};
}

// Fails proposals that were never applied here in time (leadership lost before the commit);
// every second.
void MetadataQuorum::check_timeouts() {
  std::erase_if(deferred_, [](const auto& t) { return !t->active(); });
  const int64_t now = Clock::system().now_ms();
  while (!waiters_.empty() && waiters_.front().deadline_ms <= now) {
    auto done = std::move(waiters_.front().done);
    waiters_.pop_front();
    done({broker::ErrorCode::request_timed_out, "the change was not applied in time"});
  }
  timeout_timer_.start(1000, [this] { check_timeouts(); });
}

// Runs `fn` on the loop after `ms` (unless stopped). Timers that fired are freed by
// check_timeouts(), never inside their own callback.
void MetadataQuorum::defer(uint64_t ms, std::function<void()> fn) {
  if (stopped_) return;
  deferred_.push_back(std::make_unique<UvTimer>(loop_));
  deferred_.back()->start(ms, std::move(fn));
}

void MetadataQuorum::stop(std::function<void()> done) {
  stopped_ = true;
  deferred_.clear();
  timeout_timer_.stop();
  topics_ = nullptr;  // nothing more is applied
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) w.done({broker::ErrorCode::request_timed_out, "the node is stopping"});
  if (!partition_) {
    done();
    return;
  }
  partition_->log().close([done = std::move(done)](Status) { done(); });
}

NodeId MetadataQuorum::controller() const {
  auto info = replicas_.leader_of(kMetadataGroup);
  return info ? info->leader : kNoNode;
}

NodeInfo MetadataQuorum::self_info() const {
  NodeInfo info;
  info.node = self();
  for (const auto& l : config::listener_configs(config_)) {
    info.listeners.push_back({l.name, l.advertised.host, l.advertised.port});
  }
  return info;
}

void MetadataQuorum::on_node_info(NodeInfo info) {
  if (std::find(nodes_.begin(), nodes_.end(), info.node) == nodes_.end()) return;
  node_info_[info.node] = std::move(info);
}

std::vector<broker::BrokerEndpoint> MetadataQuorum::brokers(std::string_view listener) const {
  std::vector<broker::BrokerEndpoint> out;
  auto add = [&](const NodeInfo& info) {
    for (const auto& l : info.listeners) {
      if (l.name == listener) {
        out.push_back({info.node, l.host, l.port});
        return;
      }
    }
  };
  add(self_info());
  for (const auto& [id, info] : node_info_) add(info);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.node < b.node; });
  return out;
}

Assignment MetadataQuorum::place(const std::string& topic, int32_t first, int32_t count,
                                 int16_t rf) const {
  const size_t n = nodes_.size();
  const size_t start = std::hash<std::string>{}(topic) % n;
  Assignment out;
  for (int32_t p = first; p < first + count; ++p) {
    std::vector<NodeId> replicas;
    for (int16_t i = 0; i < rf; ++i) {
      replicas.push_back(nodes_[(start + static_cast<size_t>(p) + static_cast<size_t>(i)) % n]);
    }
    out.push_back(std::move(replicas));
  }
  return out;
}

void MetadataQuorum::propose(MetadataCommand command, Done done) {
  auto batch = encode_command_batch(command, Clock::system().now_ms());
  if (!batch) {
    done({broker::ErrorCode::unknown_server_error, batch.error().message()});
    return;
  }
  submit_batch(std::move(*batch), Clock::system().now_ms() + kProposalTimeoutMs, std::move(done));
}

// Appends the change here when this node is the controller, else forwards it to the controller
// (KIP-590 style: a client may send topic changes to any node); while no controller is known,
// or the link to it is down, it tries again every kRetryMs until `deadline_ms`. `done` fires
// once the change is applied on this node.
void MetadataQuorum::submit_batch(std::vector<std::byte> batch, int64_t deadline_ms, Done done) {
  auto retry = [this, deadline_ms](std::vector<std::byte> b, Done d, broker::KafkaError why) {
    if (Clock::system().now_ms() >= deadline_ms) {
      d({broker::ErrorCode::request_timed_out,
         "the topic change was not committed in time: " + why.message()});
      return;
    }
    defer(kRetryMs, [this, deadline_ms, b = std::move(b), d = std::move(d)]() mutable {
      submit_batch(std::move(b), deadline_ms, std::move(d));
    });
  };
  const NodeId c = controller();
  if (c == self() && partition_->is_leader()) {
    append_local(std::move(batch),
                 [this, done = std::move(done)](broker::KafkaError e, Offset end) mutable {
                   if (!e.ok()) {
                     done(std::move(e));
                     return;
                   }
                   wait_applied(end, std::move(done));
                 });
    return;
  }
  if (c == kNoNode || c == self()) {
    retry(std::move(batch), std::move(done), not_controller(c));
    return;
  }
  auto copy = batch;
  transport_.send_proposal(
      c, std::move(copy),
      [this, retry, batch = std::move(batch), done = std::move(done),
       alive = std::weak_ptr<bool>(alive_)](Result<ProposalAnswer> answer) mutable {
        if (!alive.lock()) return;
        if (!answer) {
          retry(std::move(batch), std::move(done),
                {broker::ErrorCode::network_exception, answer.error().message()});
          return;
        }
        const auto code = static_cast<broker::ErrorCode>(answer->error_code);
        if (code == broker::ErrorCode::not_controller) {
          retry(std::move(batch), std::move(done), {code, answer->message});
          return;
        }
        if (code != broker::ErrorCode::none) {
          done({code, answer->message});
          return;
        }
        wait_applied(answer->end, std::move(done));
      });
}

// The controller's write of a change: appended with a write job, answered once committed.
void MetadataQuorum::append_local(std::vector<std::byte> batch,
                                  std::function<void(broker::KafkaError, Offset)> done) {
  auto job = partition_->begin_write();
  if (!job) {
    // A write of the metadata log is in flight: try again shortly.
    defer(5, [this, batch = std::move(batch), done = std::move(done)]() mutable {
      append_local(std::move(batch), std::move(done));
    });
    return;
  }
  auto info = partition_->add(**job, std::move(batch));
  if (!info) {
    done({broker::ErrorCode::invalid_request, info.error().message()}, Offset(0));
    return;
  }
  const Offset end = info->last_offset + 1;
  partition_->submit(std::move(*job), [this, end, done = std::move(done),
                                       alive = std::weak_ptr<bool>(alive_)](Status st) mutable {
    if (!alive.lock()) return;
    if (!st) {
      done({broker::ErrorCode::kafka_storage_error, st.error().message()}, end);
      return;
    }
    partition_->when_committed(end, [this, end, done = std::move(done)](broker::KafkaError e) {
      done(e.ok() ? e : not_controller(controller()), end);
    });
  });
}

void MetadataQuorum::wait_applied(Offset end, Done done) {
  if (applied_ >= end) {
    done({});
    return;
  }
  waiters_.push_back({end, std::move(done), Clock::system().now_ms() + kProposalTimeoutMs});
  apply_committed();
}

void MetadataQuorum::on_proposal(std::vector<std::byte> batch,
                                 std::function<void(ProposalAnswer)> reply) {
  if (controller() != self() || !partition_->is_leader()) {
    auto e = not_controller(controller());
    reply({static_cast<int16_t>(e.code()), e.message(), Offset(0)});
    return;
  }
  // The change must decode here, so that a malformed one never reaches the log.
  if (auto commands = decode_command_batch(batch); !commands || commands->empty()) {
    reply({static_cast<int16_t>(broker::ErrorCode::invalid_request), "malformed topic change",
           Offset(0)});
    return;
  }
  append_local(std::move(batch), [reply = std::move(reply)](broker::KafkaError e, Offset end) {
    reply({static_cast<int16_t>(e.code()), e.message(), end});
  });
}

void MetadataQuorum::propose_create(meta::TopicRecord record, int16_t replication_factor,
                                    Done done) {
  Assignment a = place(record.name, 0, record.partitions, replication_factor);
  propose(CreateTopicCommand{std::move(record), std::move(a)}, std::move(done));
}

void MetadataQuorum::propose_delete(const std::string& name, Done done) {
  propose(DeleteTopicCommand{name}, std::move(done));
}

void MetadataQuorum::propose_partitions(const std::string& name, int32_t total, Done done) {
  auto it = assignments_.find(name);
  const auto current = it == assignments_.end() ? 0 : static_cast<int32_t>(it->second.size());
  const auto rf = it == assignments_.end() || it->second.empty()
                      ? static_cast<int16_t>(1)
                      : static_cast<int16_t>(it->second.front().size());
  propose(CreatePartitionsCommand{name, total, place(name, current, total - current, rf)},
          std::move(done));
}

void MetadataQuorum::propose_configs(const std::string& name,
                                     std::map<std::string, std::string> set,
                                     std::vector<std::string> remove, bool replace_all, Done done) {
  propose(AlterConfigsCommand{name, replace_all, std::move(set), std::move(remove)},
          std::move(done));
}

void MetadataQuorum::request_auto_create(const std::string& name) {
  const NodeId c = controller();
  if (c == kNoNode) return;  // the client asks again
  if (c == self()) {
    on_auto_create(name);
    return;
  }
  transport_.send_auto_create(c, name);
}

void MetadataQuorum::on_auto_create(const std::string& topic) {
  if (topics_ == nullptr || controller() != self()) return;
  (void)topics_->auto_create(topic);
}

std::vector<NodeId> MetadataQuorum::replicas(const std::string& topic, int32_t partition) const {
  auto it = assignments_.find(topic);
  if (it == assignments_.end() || partition < 0 ||
      static_cast<size_t>(partition) >= it->second.size()) {
    return {};
  }
  return it->second[static_cast<size_t>(partition)];
}

broker::Partition::Replicas MetadataQuorum::describe(const std::string& topic, int32_t partition,
                                                     LeaderEpoch* epoch) const {
  broker::Partition::Replicas r;
  if (topics_ != nullptr) {
    if (auto local = topics_->partition(topic, partition); local != nullptr) {
      r = local->replicas();
      if (auto info = replicas_.leader_of({topic, PartitionId(partition)});
          info && epoch != nullptr) {
        *epoch = info->epoch;
      }
      if (!local->is_leader()) {
        // This node follows: the leader's view of the ISR is what it last told.
        if (auto info = replicas_.leader_of({topic, PartitionId(partition)})) {
          r.leader = info->leader;
          r.isr = info->isr;
        }
      }
      return r;
    }
  }
  r.replicas = replicas(topic, partition);
  if (auto info = replicas_.leader_of({topic, PartitionId(partition)})) {
    r.leader = info->leader;
    r.isr = info->isr;
    if (epoch != nullptr) *epoch = info->epoch;
  }
  return r;
}

void MetadataQuorum::opened(const std::shared_ptr<broker::Partition>& partition) {
  const GroupId g{partition->topic(), partition->id()};
  auto voters = replicas(g.topic, g.partition.value());
  if (auto st = replicas_.add_group(g, partition, voters); !st) {
    FERRY_LOG(error, "replication", "%s: joining its Raft group failed: %s", group_name(g).c_str(),
              st.error().to_string().c_str());
  }
}

void MetadataQuorum::closing(const std::string& topic, int32_t partition) {
  replicas_.remove_group({topic, PartitionId(partition)});
}

void MetadataQuorum::on_group_change(const GroupId& group) {
  if (group != kMetadataGroup) return;
  check_coordinator();
  apply_committed();
}

bool MetadataQuorum::caught_up() const {
  if (caught_up_) return true;
  // The high watermark is above 0 once a controller's epoch-start batch committed; a follower
  // learns it from its fetches.
  const Offset hw = partition_ ? partition_->high_watermark() : Offset(0);
  caught_up_ = controller() != kNoNode && hw > Offset(0) && applied_ >= hw;
  return caught_up_;
}

broker::ErrorCode MetadataQuorum::coordinator_state() const {
  if (stopped_ || !partition_ || !partition_->is_leader() || controller() != self()) {
    return broker::ErrorCode::not_coordinator;
  }
  // Every commit of earlier controllers is applied once this leader's own epoch-start batch is.
  auto info = replicas_.leader_of(kMetadataGroup);
  if (!info || applied_epoch_ != info->epoch)
    return broker::ErrorCode::coordinator_load_in_progress;
  return broker::ErrorCode::none;
}

void MetadataQuorum::check_coordinator() {
  if (groups_ == nullptr) return;
  const bool now = coordinator_state() == broker::ErrorCode::none;
  if (now == coordinating_) return;
  coordinating_ = now;
  FERRY_LOG(info, "groups", "%s",
            now ? "coordinating consumer groups (the controller)"
                : "no longer coordinating consumer groups");
  groups_->coordinator_changed(now);
  if (now && cluster_id_.empty() && !proposing_cluster_id_ && !own_cluster_id_.empty()) {
    // The first controller names the cluster after itself; every node then reports that id.
    proposing_cluster_id_ = true;
    propose_group_change(ClusterIdCommand{own_cluster_id_}, [this](broker::KafkaError e) {
      proposing_cluster_id_ = false;
      if (!e.ok()) {
        FERRY_LOG(warn, "replication", "proposing the cluster id failed: %s", e.message().c_str());
      }
    });
  }
}

void MetadataQuorum::propose_group_change(MetadataCommand command, Done done) {
  if (coordinator_state() != broker::ErrorCode::none) {
    done({coordinator_state(), "this node does not coordinate consumer groups now"});
    return;
  }
  auto batch = encode_command_batch(command, Clock::system().now_ms());
  if (!batch) {
    done({broker::ErrorCode::unknown_server_error, batch.error().message()});
    return;
  }
  append_local(std::move(*batch),
               [this, done = std::move(done)](broker::KafkaError e, Offset end) mutable {
                 if (!e.ok()) {
                   // Leadership moved before the commit: the client finds the new coordinator.
                   if (e.code() == broker::ErrorCode::not_controller) {
                     e = {broker::ErrorCode::not_coordinator, e.message()};
                   }
                   done(std::move(e));
                   return;
                 }
                 wait_applied(end, std::move(done));
               });
}

void MetadataQuorum::commit_offsets(const std::string& group, std::vector<meta::OffsetCommit> rows,
                                    broker::GroupQuorum::Done done) {
  propose_group_change(CommitOffsetsCommand{group, std::move(rows)}, std::move(done));
}

void MetadataQuorum::delete_offsets(const std::string& group,
                                    std::vector<std::pair<std::string, PartitionId>> partitions,
                                    broker::GroupQuorum::Done done) {
  propose_group_change(DeleteOffsetsCommand{group, std::move(partitions)}, std::move(done));
}

void MetadataQuorum::delete_group(const std::string& group, broker::GroupQuorum::Done done) {
  propose_group_change(DeleteGroupCommand{group}, std::move(done));
}

void MetadataQuorum::store_group(const std::string& group, broker::GroupSnapshot snapshot,
                                 broker::GroupQuorum::Done done) {
  propose_group_change(GroupStateCommand{group, std::move(snapshot)}, std::move(done));
}

// Applies the next committed batch of the metadata log, if any, then the next.
void MetadataQuorum::apply_committed() {
  if (applying_ || topics_ == nullptr) return;
  const Offset hw = partition_->high_watermark();
  if (applied_ >= hw) return;
  if (applied_ < partition_->log_start_offset()) applied_ = partition_->log_start_offset();
  auto read = partition_->log().read(applied_, 1u << 20, hw);
  if (!read || read->data.empty()) {
    if (!read) {
      FERRY_LOG(error, "replication", "reading the metadata log at %lld failed: %s",
                static_cast<long long>(applied_.value()), read.error().to_string().c_str());
    }
    return;
  }
  auto size = protocol::declared_batch_size(read->data);
  if (!size || *size > read->data.size()) return;
  std::span<const std::byte> batch(read->data.data(), *size);
  const protocol::BatchView view(batch);
  const Offset next = view.base_offset() + (view.last_offset_delta() + 1);
  applying_epoch_ = view.leader_epoch();
  auto commands = decode_command_batch(batch);
  if (!commands) {
    // A record this build cannot read: stop here rather than skip a change.
    FERRY_LOG(error, "replication", "metadata log at %lld: %s (not applied)",
              static_cast<long long>(view.base_offset().value()),
              commands.error().to_string().c_str());
    return;
  }
  applying_ = true;
  apply_one(std::move(*commands), 0, next);
}

void MetadataQuorum::apply_one(std::vector<MetadataCommand> commands, size_t i, Offset next) {
  if (i == commands.size()) {
    meta_.submit({put_applied(next)}, [this, next, alive = std::weak_ptr<bool>(alive_)](Status st) {
      if (!alive.lock()) return;
      if (!st) {
        applying_ = false;
        FERRY_LOG(error, "replication", "recording the applied metadata offset failed: %s",
                  st.error().to_string().c_str());
        return;
      }
      applied_to(next);
    });
    return;
  }
  auto cont = [this, commands, i, next, alive = std::weak_ptr<bool>(alive_)](broker::KafkaError e) {
    if (!alive.lock()) return;
    if (!e.ok()) {
      FERRY_LOG(warn, "replication", "applying a metadata change failed: %s", e.message().c_str());
    }
    apply_one(commands, i + 1, next);
  };
  MetadataCommand& c = commands[i];
  if (auto* create = std::get_if<CreateTopicCommand>(&c)) {
    assignments_[create->record.name] = create->assignment;
    std::vector<meta::Mutation> extra{put_assignment(create->record.name, 0, create->assignment)};
    topics_->apply_create(create->record, std::move(extra), cont);
  } else if (auto* del = std::get_if<DeleteTopicCommand>(&c)) {
    std::vector<meta::Mutation> extra{delete_assignment(del->name), delete_group_state(del->name)};
    const std::string name = del->name;
    topics_->apply_remove(name, std::move(extra), [this, name, cont](broker::KafkaError e) {
      assignments_.erase(name);
      cont(std::move(e));
    });
  } else if (auto* parts = std::get_if<CreatePartitionsCommand>(&c)) {
    auto& a = assignments_[parts->name];
    const auto first = static_cast<int32_t>(a.size());
    for (auto& r : parts->added) a.push_back(r);
    std::vector<meta::Mutation> extra{put_assignment(parts->name, first, parts->added)};
    topics_->apply_partitions(parts->name, parts->total, std::move(extra), cont);
  } else if (auto* cfg = std::get_if<AlterConfigsCommand>(&c)) {
    topics_->apply_configs(cfg->name, cfg->set, cfg->remove, cfg->replace_all, cont);
  } else if (auto* commit = std::get_if<CommitOffsetsCommand>(&c)) {
    submit_group_mutations({meta::Mutation::commit_offsets(commit->group, commit->offsets)}, cont);
  } else if (auto* dels = std::get_if<DeleteOffsetsCommand>(&c)) {
    std::vector<meta::Mutation> m;
    for (const auto& [topic, partition] : dels->partitions) {
      m.push_back(meta::Mutation::delete_offsets(dels->group, topic, partition));
    }
    submit_group_mutations(std::move(m), cont);
  } else if (auto* gone = std::get_if<DeleteGroupCommand>(&c)) {
    submit_group_mutations(
        {meta::Mutation::delete_group(gone->group), broker::delete_group_snapshot(gone->group)},
        cont);
  } else if (auto* state = std::get_if<GroupStateCommand>(&c)) {
    submit_group_mutations({broker::put_group_snapshot(state->group, state->snapshot)}, cont);
  } else if (auto* id = std::get_if<ClusterIdCommand>(&c)) {
    if (!cluster_id_.empty() || id->cluster_id.empty()) {
      cont({});  // named already: the first one stays
      return;
    }
    std::string agreed = id->cluster_id;
    meta_.submit({put_cluster_identity(agreed)},
                 [this, agreed, cont, alive = std::weak_ptr<bool>(alive_)](Status st) {
                   if (!alive.lock()) return;
                   if (st) {
                     cluster_id_ = agreed;
                     FERRY_LOG(info, "replication", "cluster id %s", agreed.c_str());
                     if (on_cluster_id_) on_cluster_id_(agreed);
                   }
                   cont(st ? broker::KafkaError{} : broker::to_kafka_error(st.error()));
                 });
  }
}

void MetadataQuorum::submit_group_mutations(std::vector<meta::Mutation> mutations,
                                            std::function<void(broker::KafkaError)> cont) {
  meta_.submit(std::move(mutations), [cont = std::move(cont)](Status st) {
    cont(st ? broker::KafkaError{} : broker::to_kafka_error(st.error()));
  });
}

void MetadataQuorum::applied_to(Offset next) {
  applied_ = next;
  applied_epoch_ = applying_epoch_;
  applying_ = false;
  check_coordinator();
  while (!waiters_.empty() && waiters_.front().end <= applied_) {
    auto done = std::move(waiters_.front().done);
    waiters_.pop_front();
    done({});
  }
  apply_committed();
}

}  // namespace ferry::cluster
