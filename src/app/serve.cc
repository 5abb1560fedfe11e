// `ferry serve`: configuration (file, then flags), the loop, signals and clean shutdown.
#include "app/serve.h"

#include <uv.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "app/config_reload.h"
#include "app/node.h"
#include "app/sd_notify.h"
#include "common/log.h"
#include "config/broker_config.h"

namespace ferry::app {
namespace {

int config_error(const std::string& message) {
  std::fprintf(stderr, "ferry: %s\n", message.c_str());
  return 2;
}

bool is_wildcard(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

// Keeps the memory of request frames, fetch answers and decode buffers in the process between
// requests. With glibc's defaults a 1 MB request frame or fetch answer is mmap'ed and unmapped,
// or the heap top trimmed, after every request, so the kernel zero-fills and faults in the same
// megabytes again for the next one: it was most of the broker's CPU when consuming 8 partitions
// (8 MiB answers; `docs/benchmarks.md`). Blocks up to 4 MiB (the default request budget) come
// from the heap, and up to 16 MiB of free heap top is kept rather than returned. Peak RSS does
// not change (those bytes were resident while in use); RSS after a burst stays up to that much
// higher.
void tune_allocator() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
#endif
}

// Test-only: FERRY_TEST_STALL_LOOP_AFTER_MS=N blocks the event loop N ms after start-up for
// kStallSeconds, so a test can show that the watchdog pings stop when the loop is stuck. Never
// set in production; the variable name says so.
constexpr unsigned kStallSeconds = 30;

void arm_stall_hook(uv_timer_t* timer) {
  const char* after = std::getenv("FERRY_TEST_STALL_LOOP_AFTER_MS");
  if (after == nullptr || after[0] == '\0') return;
  const uint64_t ms = std::strtoull(after, nullptr, 10);
  uv_timer_start(
      timer,
      [](uv_timer_t*) {
        FERRY_LOG(warn, "broker", "FERRY_TEST_STALL_LOOP_AFTER_MS: stalling the event loop for %us",
                  kStallSeconds);
        unsigned left = kStallSeconds;
        while (left > 0) left = ::sleep(left);
      },
      ms, 0);
  uv_unref(reinterpret_cast<uv_handle_t*>(timer));
}

}  // namespace

Result<config::BrokerConfig> serve_config(const ServeArgs& args) {
  auto bad = [](const std::string& message) { return Error(Errc::invalid_argument, message); };
  config::BrokerConfig cfg;
  if (args.config_file) {
    auto loaded = config::load_config_file(*args.config_file);
    if (!loaded) return bad(loaded.error().message());
    cfg = std::move(*loaded);
  }
  // Flags override the file. A listener moved by flag takes the advertised address with it
  // unless that was set on its own.
  const bool advertised_follows_listen = cfg.advertised.to_string() == cfg.listen.to_string();
  if (args.data_dir) cfg.data_dir = *args.data_dir;
  if (args.node_id) {
    if (*args.node_id < 0) return bad("--node-id: must be >= 0");
    cfg.node_id = *args.node_id;
  }
  if ((args.listen || args.advertised) && !cfg.listeners.empty()) {
    return bad(std::string(args.listen ? "--listen" : "--advertised") +
               ": the config file sets listeners; change them there");
  }
  if (args.listen) {
    auto hp = config::parse_host_port(*args.listen);
    if (!hp) return bad("--listen: " + hp.error().message());
    cfg.listen = *hp;
    if (advertised_follows_listen && !args.advertised) {
      if (is_wildcard(cfg.listen.host)) {
        return bad("--listen " + *args.listen +
                   ": a wildcard address needs --advertised HOST:PORT for clients");
      }
      cfg.advertised = cfg.listen;
    }
  }
  if (args.advertised) {
    auto hp = config::parse_host_port(*args.advertised);
    if (!hp) return bad("--advertised: " + hp.error().message());
    cfg.advertised = *hp;
  }
  if (args.log_level) {
    log::Level lvl;
    if (!log::parse_level(*args.log_level, &lvl)) {
      return bad("--log-level: unknown level '" + *args.log_level + "'");
    }
    cfg.log_level = lvl;
  }
  return cfg;
}

int serve(const ServeArgs& args) {
  auto loaded = serve_config(args);
  if (!loaded) return config_error(loaded.error().message());
  config::BrokerConfig cfg = std::move(*loaded);
  log::set_level(cfg.log_level);
  tune_allocator();
  std::signal(SIGPIPE, SIG_IGN);

  uv_loop_t loop;
  uv_loop_init(&loop);
  int exit_code = 0;
  // Under systemd (Type=notify): start-up progress, READY=1, watchdog pings, STOPPING=1.
  SdNotifier notifier = SdNotifier::from_environment();
  uv_timer_t watchdog;
  uv_timer_init(&loop, &watchdog);
  watchdog.data = &notifier;
  uv_timer_t stall;
  uv_timer_init(&loop, &stall);
  {
    Node node(&loop, cfg);
    // systemd arms the watchdog once start-up completes (READY=1); until then the unit's
    // TimeoutStartSec bounds a long recovery, whose progress shows in `systemctl status`.
    node.set_start_progress(
        [&notifier](const std::string& status) { notifier.notify("STATUS=" + status); });
    if (auto st = node.start(); !st) {
      FERRY_LOG(error, "broker", "cannot start: %s", st.error().to_string().c_str());
      notifier.notify("STATUS=cannot start: " + st.error().to_string());
      exit_code = 1;
      bool closed = false;
      node.shutdown([&](Status) { closed = true; });
      while (!closed && uv_run(&loop, UV_RUN_ONCE) != 0) {
      }
    } else {
      uv_signal_t sigint;
      uv_signal_t sigterm;
      struct Ctx {
        Node* node;
        int* exit_code;
        uv_signal_t* signals[2];
        SdNotifier* notifier;
        uv_timer_t* watchdog;
      } ctx{&node, &exit_code, {&sigint, &sigterm}, &notifier, &watchdog};
      auto on_signal = [](uv_signal_t* h, int signum) {
        auto* c = static_cast<Ctx*>(h->data);
        FERRY_LOG(info, "broker", "received %s", signum == SIGINT ? "SIGINT" : "SIGTERM");
        // Pings go on while draining: a slow shutdown is systemd's TimeoutStopSec to judge.
        c->notifier->notify("STOPPING=1\nSTATUS=shutting down");
        for (auto* s : c->signals) uv_signal_stop(s);
        c->node->shutdown([c](Status result) {
          if (!result) {
            FERRY_LOG(error, "broker", "shutdown: %s", result.error().to_string().c_str());
            *c->exit_code = 1;
          }
          for (auto* s : c->signals) uv_close(reinterpret_cast<uv_handle_t*>(s), nullptr);
        });
      };
      for (auto* s : ctx.signals) {
        uv_signal_init(&loop, s);
        s->data = &ctx;
      }
      uv_signal_start(&sigint, on_signal, SIGINT);
      uv_signal_start(&sigterm, on_signal, SIGTERM);
      // SIGHUP: the configuration file again (config_reload.h: the live keys apply, the others
      // are named at WARN), and the TLS certificate, key and CA (open connections keep theirs).
      ConfigReloader reloader(args, cfg);
      struct HupCtx {
        Node* node;
        ConfigReloader* reloader;
      } hup{&node, &reloader};
      uv_signal_t sighup;
      uv_signal_init(&loop, &sighup);
      sighup.data = &hup;
      uv_signal_start(
          &sighup,
          [](uv_signal_t* h, int) {
            auto* c = static_cast<HupCtx*>(h->data);
            FERRY_LOG(info, "broker", "received SIGHUP: reloading the configuration and TLS files");
            if (!c->node->has_broker()) return;
            c->reloader->reload(*c->node);
            if (auto reloaded = c->node->broker().reload_tls(); !reloaded) {
              FERRY_LOG(error, "broker", "TLS reload failed, keeping the current certificate: %s",
                        reloaded.error().message().c_str());
            }
          },
          SIGHUP);
      // The loop ends when shutdown closed the other handles; SIGHUP's must not keep it alive.
      uv_unref(reinterpret_cast<uv_handle_t*>(&sighup));
      // Every listener is up and every log recovered: ready. The watchdog pings come from a
      // loop timer, so they stop when the loop is stuck and systemd restarts the service.
      notifier.notify("READY=1\nSTATUS=serving on port " + std::to_string(node.port()));
      if (const uint64_t every = notifier.watchdog_interval_ms(); every > 0) {
        notifier.notify("WATCHDOG=1");
        uv_timer_start(
            &watchdog,
            [](uv_timer_t* t) { static_cast<SdNotifier*>(t->data)->notify("WATCHDOG=1"); }, every,
            every);
        uv_unref(reinterpret_cast<uv_handle_t*>(&watchdog));
      }
      arm_stall_hook(&stall);
      uv_run(&loop, UV_RUN_DEFAULT);
      uv_close(reinterpret_cast<uv_handle_t*>(&sighup), nullptr);
    }
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&watchdog), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&stall), nullptr);
  // Handles closed by destructors finish closing here.
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) FERRY_LOG(warn, "broker", "event loop closed with live handles");
  if (exit_code == 0) FERRY_LOG(info, "broker", "stopped cleanly");
  return exit_code;
}

}  // namespace ferry::app
