// Node: start-up and shutdown order of one ferry process. See node.h.
#include "app/node.h"

#include "cluster/cluster_node.h"
#include "common/log.h"
#include "common/uuid.h"
#include "platform/file.h"
#include "storage/open_progress.h"

namespace ferry::app {
namespace {

// DATA/space.reserve: deleted when meta.db cannot commit on a full disk, so that a topic
// deletion (which then frees space) still commits; recreated on a housekeeping tick.
constexpr uint64_t kSpaceReserveBytes = 2u << 20;

// admin.listen's default (config/keys.cc): when taken, the node runs without the admin listener.
constexpr std::string_view kDefaultAdminListen = "127.0.0.1:9644";

}  // namespace

Node::Node(uv_loop_t* loop, config::BrokerConfig config, const Clock& clock,
           platform::FileSystem& fs)
    : loop_(loop), config_(std::move(config)), clock_(clock), fs_(fs) {}

Node::~Node() = default;

Status Node::load_cluster_id() {
  const std::string path = config_.data_dir + "/cluster.id";
  if (fs_.exists(path)) {
    auto f = fs_.open(path, platform::File::Mode::read_only);
    if (!f) return std::move(f).error();
    auto size = f->size();
    if (!size) return std::move(size).error();
    std::vector<std::byte> buf(static_cast<size_t>(*size));
    FERRY_TRY(f->pread_exact(buf, 0));
    cluster_id_.assign(reinterpret_cast<const char*>(buf.data()), buf.size());
    while (!cluster_id_.empty() && (cluster_id_.back() == '\n' || cluster_id_.back() == ' '))
      cluster_id_.pop_back();
    if (!cluster_id_.empty()) return ok_status();
  }
  cluster_id_ = new_uuid();  // Kafka's cluster ids have the same form
  const std::string text = cluster_id_ + "\n";
  return fs_.write_file_atomic(path, platform::as_bytes(text));
}

Status Node::start() {
  auto progress = [this](const std::string& status) {
    if (start_progress_) start_progress_(status);
  };
  // The recovery progress hook lives only as long as start-up, however start() returns.
  struct ClearProgressHook {
    ~ClearProgressHook() { storage::set_open_progress(nullptr); }
  } clear_hook;
  progress("opening " + config_.data_dir);
  FERRY_TRY(fs_.create_dirs(config_.data_dir + "/logs"));
  FERRY_TRY(load_cluster_id());
  auto meta =
      meta::MetaStore::open(config_.data_dir + "/meta.db", loop_, meta::builtin_migrations(), fs_);
  if (!meta) return std::move(meta).error();
  meta_ = std::move(*meta);
  meta_->set_space_reserve(config_.data_dir + "/space.reserve", kSpaceReserveBytes);
  storage::LogOptions log_options;
  log_options.loop = loop_;
  log_options.clock = &clock_;
  log_options.fs = &fs_;
  logs_ = std::make_unique<storage::LogManager>(config_.data_dir + "/logs", log_options);
  if (start_progress_) {
    progress("recovering partition logs");
    storage::set_open_progress([progress](size_t opened, size_t entries) {
      if (opened % kProgressEveryPartitions == 0) {
        progress("recovering partition logs: " + std::to_string(opened) + " of at most " +
                 std::to_string(entries) + " opened");
      }
    });
  }
  broker_ = std::make_unique<broker::Broker>(loop_, config_, clock_, *meta_, *logs_, cluster_id_);
  if (config_.cluster) {
    cluster_ = std::make_unique<cluster::ClusterNode>(loop_, config_, *meta_, clock_);
    FERRY_TRY(cluster_->open(*broker_));
  }
  FERRY_TRY(broker_->start());
  storage::set_open_progress(nullptr);
  if (cluster_) {
    progress("joining the cluster");
    FERRY_TRY(cluster_->start());
  }
  progress("starting mirrors");
  mirrors_ =
      std::make_unique<mirror::MirrorService>(loop_, config_, broker_->topics(), *meta_, clock_);
  FERRY_TRY(mirrors_->start());
  if (!config_.admin_listen.empty()) {
    auto options = admin::admin_options(config_);
    if (!options) return std::move(options).error();
    admin_ = std::make_unique<admin::AdminService>(loop_, std::move(*options), clock_, *broker_,
                                                   *logs_, *meta_, mirrors_.get());
    admin_->set_cluster(cluster_.get());
    if (auto st = admin_->start(); !st) {
      // The default address taken (another broker on this host): warn and go on without it; an
      // address set in the file must work.
      if (config_.admin_listen != kDefaultAdminListen || st.error().code() != Errc::io) return st;
      FERRY_LOG(warn, "admin", "%s; admin listener off (set admin.listen to another address)",
                st.error().message().c_str());
      admin_.reset();
    }
  }
  return ok_status();
}

void Node::shutdown(std::function<void(Status)> done) {
  if (stopping_) return;
  stopping_ = true;
  if (!broker_) {
    close_storage(ok_status(), std::move(done));
    return;
  }
  // Services built after the broker stop here first, in reverse order of start.
  auto stop_broker = [this, done = std::move(done)]() mutable {
    broker_->shutdown([this, done = std::move(done)](Status st) mutable {
      close_storage(std::move(st), std::move(done));
    });
  };
  auto stop_mirrors = [this, stop_broker = std::move(stop_broker)]() mutable {
    if (!mirrors_) {
      stop_broker();
      return;
    }
    mirrors_->stop(std::move(stop_broker));
  };
  auto stop_cluster = [this, stop_mirrors = std::move(stop_mirrors)]() mutable {
    if (!cluster_) {
      stop_mirrors();
      return;
    }
    cluster_->close(std::move(stop_mirrors));
  };
  if (!admin_) {
    stop_cluster();
    return;
  }
  admin_->stop(std::move(stop_cluster));
}

void Node::close_storage(Status first, std::function<void(Status)> done) {
  auto close_store = [this, done = std::move(done)](Status so_far) mutable {
    if (!meta_) {
      done(std::move(so_far));
      return;
    }
    meta_->close([so_far = std::move(so_far), done = std::move(done)](Status meta_status) {
      done(!so_far ? so_far : meta_status);
    });
  };
  if (!logs_) {
    close_store(std::move(first));
    return;
  }
  logs_->close_all(
      [first = std::move(first), close_store = std::move(close_store)](Status logs_status) mutable {
        close_store(!first ? std::move(first) : std::move(logs_status));
      });
}

}  // namespace ferry::app
