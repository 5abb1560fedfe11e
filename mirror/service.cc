// MirrorService: starting and stopping the mirrors, retention floors, the status file. See
// service.h.
#include "mirror/service.h"

#include <cstdio>
#include <map>

#include "common/log.h"

namespace ferry::mirror {

std::string status_file_path(const std::string& data_dir) {
  return data_dir + "/mirror-status.tsv";
}

MirrorService::MirrorService(uv_loop_t* loop, const config::BrokerConfig& config,
                             broker::TopicManager& topics, meta::MetaStore& meta,
                             const Clock& clock)
    : loop_(loop),
      config_(config),
      topics_(topics),
      clock_(clock),
      status_path_(status_file_path(config.data_dir)) {
  for (const config::MirrorConfig& m : config.mirrors) {
    mirrors_.push_back(std::make_unique<Mirror>(loop, m, config.node_id, topics, meta, clock));
  }
}

MirrorService::~MirrorService() = default;

Status MirrorService::start() {
  for (auto& m : mirrors_) {
    FERRY_TRY(m->start());
    m->on_partitions_changed([this] { apply_floors(); });
  }
  apply_floors();
  if (mirrors_.empty()) return ok_status();
  timer_ = std::make_unique<UvTimer>(loop_);
  tick();
  return ok_status();
}

void MirrorService::tick() {
  apply_floors();
  write_status();
  std::weak_ptr<int> life = life_;
  timer_->start(1000, [this, life] {
    if (!life.expired()) tick();
  });
}

void MirrorService::stop(std::function<void()> done) {
  timer_.reset();
  if (mirrors_.empty()) {
    done();
    return;
  }
  auto left = std::make_shared<size_t>(mirrors_.size());
  for (auto& m : mirrors_) {
    m->stop([this, left, done] {
      if (--*left == 0) {
        write_status();
        done();
      }
    });
  }
}

void MirrorService::apply_floors() {
  std::map<storage::TopicPartition, Offset> lowest;
  for (const auto& m : mirrors_) {
    for (const auto& [tp, floor] : m->floors()) {
      auto [it, fresh] = lowest.emplace(tp, floor);
      if (!fresh) it->second = std::min(it->second, floor);
    }
  }
  for (const auto& [tp, floor] : lowest) {
    if (auto p = topics_.partition(tp.topic, tp.partition.value())) p->set_retention_floor(floor);
  }
}

StatusSnapshot MirrorService::status() const {
  StatusSnapshot s;
  s.written_ms = clock_.now_ms();
  for (const auto& m : mirrors_) {
    std::vector<StatusRow> rows = m->status();
    s.rows.insert(s.rows.end(), rows.begin(), rows.end());
  }
  return s;
}

void MirrorService::write_status() {
  const std::string text = render_status_file(status());
  const std::string tmp = status_path_ + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  bool ok = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f != nullptr) ok = std::fclose(f) == 0 && ok;
  if (ok) ok = std::rename(tmp.c_str(), status_path_.c_str()) == 0;
  if (!ok) {
    FERRY_LOG_RATELIMITED(warn, "mirror", "status file", "cannot write %s", status_path_.c_str());
  }
}

}  // namespace ferry::mirror
