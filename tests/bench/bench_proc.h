// Child processes for the benchmarks that start a server (ferry, nats-server): free loopback
// ports, start-until-accepting with a deadline, SIGTERM-then-bounded-wait stop, and resident
// memory read from /proc/PID/status (a one-shot read and a 10 ms sampler thread).
//
// Header-only; used by broker_bench, latency_bench and nats_bench. Threads: everything runs on the
// caller's thread except RssSampler's own thread, which only reads /proc and atomics.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Called by die() before exiting: set by the program to kill its children and remove its files.
inline void (*g_cleanup)() = nullptr;
inline const char* g_program = "bench";

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", g_program, what.c_str());
  if (g_cleanup) g_cleanup();
  std::exit(1);
}

// A port the kernel considers free right now (it may be taken before the child binds it; the
// caller retries with another one if the child exits during start-up).
inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    die("cannot find a free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

// A blocking TCP connection to 127.0.0.1:port, or -1.
inline int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool port_accepts(uint16_t port) {
  int fd = connect_loopback(port);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// A started child: its pid (-1 once reaped) and the port it listens on.
struct Child {
  pid_t pid = -1;
  uint16_t port = 0;
};

// Starts `argv_for(port)` (in a new session unless `new_session` is false) with stdin from
// /dev/null and stdout/stderr appended to `log_path`, and returns once the port accepts
// connections. Dies if it does not within `ready_s` seconds (after up to 5 port attempts: a child
// that exits during start-up is retried on another port).
template <typename ArgvFor>
Child start_child(ArgvFor argv_for, const std::string& log_path, int ready_s = 20,
                  bool new_session = true) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    uint16_t port = free_port();
    std::vector<std::string> args = argv_for(port);
    pid_t pid = ::fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
      // A session of its own, as a service has: with the kernel's autogroup scheduling the
      // server then gets its own CPU share instead of splitting the benchmark's with the
      // client threads that load it.
      if (new_session) ::setsid();
      int in = ::open("/dev/null", O_RDONLY);
      int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (in >= 0) ::dup2(in, 0);
      if (log >= 0) {
        ::dup2(log, 1);
        ::dup2(log, 2);
      }
      std::vector<char*> cargs;
      for (auto& a : args) cargs.push_back(a.data());
      cargs.push_back(nullptr);
      ::execv(cargs[0], cargs.data());
      ::_exit(127);
    }
    auto t = Clock::now();
    bool exited = false;
    while (seconds_since(t) < ready_s) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      if (port_accepts(port)) return {pid, port};
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling with a deadline
    }
    if (!exited) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      die(args[0] + " did not accept connections within " + std::to_string(ready_s) +
          " s (log: " + log_path + ")");
    }
    std::fprintf(stderr, "%s: %s exited during start-up on port %u, retrying\n", g_program,
                 args[0].c_str(), port);
  }
  die("the child would not start (log: " + log_path + ")");
}

// SIGTERM, then a bounded wait; returns the exit code (-1: killed after the timeout or by a
// signal). Leaves child.pid at -1.
inline int stop_child(Child& child, int stop_s = 15) {
  if (child.pid <= 0) return -1;
  ::kill(child.pid, SIGTERM);
  auto t = Clock::now();
  int status = 0;
  while (::waitpid(child.pid, &status, WNOHANG) == 0) {
    if (seconds_since(t) > stop_s) {
      ::kill(child.pid, SIGKILL);
      ::waitpid(child.pid, &status, 0);
      child.pid = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  child.pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline void kill_child(Child& child) {
  if (child.pid <= 0) return;
  ::kill(child.pid, SIGKILL);
  ::waitpid(child.pid, nullptr, 0);
  child.pid = -1;
}

// VmRSS or VmHWM of `pid` in KiB (0 when unreadable).
inline long proc_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':')
      return std::strtol(line.c_str() + n + 1, nullptr, 10);
  return 0;
}

// CPU time (user + system) `pid` has used, in seconds (0 when unreadable).
inline double proc_cpu_s(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close_paren = s.rfind(')');
  if (close_paren == std::string::npos) return 0;
  // Fields after the command: state(3) ... utime(14) stime(15), counted from 1.
  const char* p = s.c_str() + close_paren + 2;
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return 0;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Scheduler figures of one thread (/proc/PID/task/TID/schedstat), in seconds: time on a CPU and
// time runnable but waiting for one (run-queue delay).
struct SchedStat {
  double on_cpu_s = 0;
  double run_delay_s = 0;
};

inline SchedStat thread_schedstat(pid_t pid, pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/schedstat");
  unsigned long long run_ns = 0, wait_ns = 0;
  in >> run_ns >> wait_ns;
  return {static_cast<double>(run_ns) / 1e9, static_cast<double>(wait_ns) / 1e9};
}

// Samples the process's VmRSS every 10 ms on its own thread (the peak also comes from VmHWM).
class RssSampler {
 public:
  explicit RssSampler(pid_t pid)
      : pid_(pid), thread_([this] {
          while (!stop_.load()) {
            long kib = proc_kib(pid_, "VmRSS");
            if (kib > max_.load()) max_.store(kib);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
        }) {}
  ~RssSampler() {
    stop_.store(true);
    thread_.join();
  }
  RssSampler(const RssSampler&) = delete;
  RssSampler& operator=(const RssSampler&) = delete;
  long max_kib() const { return max_.load(); }

 private:
  pid_t pid_;
  std::atomic<bool> stop_{false};
  std::atomic<long> max_{0};
  std::thread thread_;
};

inline double mib(long kib) { return static_cast<double>(kib) / 1024.0; }

}  // namespace bench
