// Crash tests of the partition log. A forked child appends batches on a libuv loop with
// acks=all durability and reports each durable batch through a pipe; the parent kills it with
// SIGKILL at a random moment, optionally tears the tail of the last segment as a power cut
// would, reopens the log and checks that every acknowledged batch is there byte for byte, in
// order, and that nothing invalid survived. FERRY_CRASH_ROUNDS sets the number of rounds;
// FERRY_CRASH_SEED the random seed.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <string>

#include "common/log.h"
#include "platform/file.h"
#include "protocol/record_batch.h"
#include "storage/log.h"
#include "storage/segment_name.h"
#include "support/test_support.h"

namespace ferry::storage {
namespace {

using namespace std::chrono_literals;

LogConfig crash_config() {
  LogConfig cfg;
  cfg.segment_bytes = 64 << 10;  // frequent rolls, so kills land around them too
  cfg.index_interval_bytes = 1024;
  return cfg;
}

// The batch with sequence number `seq`: its size, compression and content follow from `seq`, so
// the parent can regenerate exactly what the child appended.
std::vector<std::byte> batch_for(int64_t seq) {
  int count = 1 + static_cast<int>(seq % 7);
  size_t value_size = 100 + static_cast<size_t>((seq * 7919) % 20000) / static_cast<size_t>(count);
  std::vector<std::string> values;
  for (int i = 0; i < count; ++i) {
    std::string v = "seq-" + std::to_string(seq) + "-" + std::to_string(i) + "-";
    v.resize(value_size, static_cast<char>('a' + (seq + i) % 26));
    values.push_back(std::move(v));
  }
  std::vector<protocol::RecordInput> in;
  for (int i = 0; i < count; ++i) {
    in.push_back({std::nullopt, values[static_cast<size_t>(i)], 1'700'000'000'000 + seq, {}});
  }
  protocol::BuildOptions o;
  o.compression = seq % 3 == 0 ? protocol::Compression::lz4 : protocol::Compression::none;
  return protocol::build_batch(in, o).value();
}

// The sequence number a stored batch was built from (parsed from its first record's value).
int64_t seq_of(const protocol::BatchView& b) {
  std::vector<std::byte> scratch;
  auto recs = protocol::decode_records(b, scratch);
  if (!recs || recs->empty() || !(*recs)[0].value) return -1;
  std::string v = test::to_string(*(*recs)[0].value);
  return std::stoll(v.substr(4, v.find('-', 4) - 4));
}

// Child: append forever (until killed), keeping a few acks=all appends in flight.
[[noreturn]] void run_writer(const std::string& dir, int64_t first_seq, int ack_fd) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  LogOptions opts;
  opts.loop = &loop;
  auto opened = Log::open(dir, crash_config(), opts);
  if (!opened) _exit(3);
  std::shared_ptr<Log> log = *opened;
  int64_t next = first_seq;
  std::function<void()> append_one = [&] {
    int64_t seq = next++;
    AppendOptions o;
    o.flush_now = true;
    auto info = std::make_shared<AppendInfo>();
    o.on_durable = [seq, info, ack_fd, &append_one](Status st) {
      if (!st) _exit(4);
      std::string line =
          std::to_string(seq) + " " + std::to_string(info->base_offset.value()) + "\n";
      if (::write(ack_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
      append_one();
    };
    auto r = log->append(batch_for(seq), std::move(o));
    if (!r) _exit(6);
    *info = *r;
  };
  for (int i = 0; i < 8; ++i) append_one();
  uv_run(&loop, UV_RUN_DEFAULT);
  _exit(7);  // the loop never runs dry while appends keep coming
}

struct Acked {
  int64_t seq;
  int64_t offset;
};

// Runs one child for about `run_for`, kills it, and returns every ack it sent.
std::vector<Acked> run_and_kill(const std::string& dir, int64_t first_seq,
                                std::chrono::milliseconds run_for, bool from_first_ack) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    run_writer(dir, first_seq, fds[1]);
  }
  ::close(fds[1]);
  std::string text;
  // With from_first_ack, `run_for` counts from the first acknowledgement (within 60 s), so the
  // round checks acknowledged batches however slowly the writer starts (a loaded machine, an
  // emulated CPU); otherwise from the fork, so the kill can also land while the writer opens.
  auto deadline = std::chrono::steady_clock::now() +
                  (from_first_ack ? std::chrono::milliseconds(60000) : run_for);
  bool armed = !from_first_ack;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) continue;
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;  // the child died on its own: the checks below will say why
    text.append(buf, static_cast<size_t>(n));
    if (!armed && text.find('\n') != std::string::npos) {
      armed = true;
      deadline = std::chrono::steady_clock::now() + run_for;
    }
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "writer exited by itself with status " << status;
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  std::vector<Acked> acks;
  size_t pos = 0;
  while (true) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // a torn last line was never a complete ack
    std::string line = text.substr(pos, nl - pos);
    size_t sp = line.find(' ');
    acks.push_back({std::stoll(line.substr(0, sp)), std::stoll(line.substr(sp + 1))});
    pos = nl + 1;
  }
  return acks;
}

// Damages the end of the newest segment the way a power cut can: a partial batch or garbage.
void tear_tail(const std::string& dir, int64_t seq, std::mt19937& rng) {
  auto names = platform::list_dir(dir).value();
  std::string last;
  for (const auto& n : names) {
    auto p = parse_segment_file_name(n);
    if (p && p->kind == SegmentFile::log) last = n;
  }
  ASSERT_FALSE(last.empty());
  auto f = platform::File::open(dir + "/" + last, platform::File::Mode::read_write).value();
  uint64_t end = f.size().value();
  std::vector<std::byte> tail = batch_for(seq);
  if (rng() % 2 == 0) {
    tail.resize(1 + rng() % (tail.size() - 1));  // a batch cut short
  } else {
    tail.resize(1 + rng() % 3000);
    for (auto& b : tail) b = static_cast<std::byte>(rng());  // garbage
  }
  ASSERT_TRUE(f.pwrite_all(tail, end).ok());
}

TEST(Crash, KilledWritersNeverLoseAcknowledgedBatches) {
  test::TempDir dir;
  const char* rounds_env = std::getenv("FERRY_CRASH_ROUNDS");
  const char* seed_env = std::getenv("FERRY_CRASH_SEED");
  int rounds = rounds_env ? std::atoi(rounds_env) : 12;
  unsigned seed = seed_env ? static_cast<unsigned>(std::atol(seed_env))
                           : static_cast<unsigned>(std::random_device{}());
  std::printf("crash test: %d rounds, FERRY_CRASH_SEED=%u\n", rounds, seed);
  std::mt19937 rng(seed);

  std::map<int64_t, int64_t> acked;  // offset -> seq, over all rounds
  int64_t next_seq = 0;
  size_t total_acks = 0, tears = 0;
  for (int round = 0; round < rounds; ++round) {
    auto run_for = std::chrono::milliseconds(20 + rng() % 250);
    // The first round always runs past an acknowledgement, so the test never passes empty.
    auto acks = run_and_kill(dir.path(), next_seq, run_for, /*from_first_ack=*/round == 0);
    total_acks += acks.size();
    for (const auto& a : acks) acked[a.offset] = a.seq;
    bool tear = round % 3 == 2;
    if (tear) {
      tear_tail(dir.path(), next_seq + 100000, rng);
      ++tears;
    }

    test::LogCapture capture;
    auto log = Log::open(dir.path(), crash_config());
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    if (tear) {
      EXPECT_TRUE(capture.saw("truncating")) << "round " << round;
    }
    // Walk the whole log: every batch valid, offsets contiguous, seqs consecutive.
    std::map<int64_t, int64_t> stored;  // offset -> seq
    Offset at = (*log)->log_start_offset();
    int64_t prev_seq = -1;
    while (at < (*log)->log_end_offset()) {
      auto r = (*log)->read(at, 4 << 20);
      ASSERT_TRUE(r.ok()) << r.error().to_string();
      std::span<const std::byte> rest(r->data);
      while (!rest.empty()) {
        size_t n = protocol::declared_batch_size(rest).value();
        protocol::BatchView b(rest.first(n));
        ASSERT_TRUE(protocol::validate_batch(b.bytes()).ok())
            << "offset " << b.base_offset().value();
        ASSERT_EQ(b.base_offset(), at);
        int64_t seq = seq_of(b);
        if (prev_seq >= 0) {
          ASSERT_EQ(seq, prev_seq + 1) << "offset " << at.value();
        }
        std::vector<std::byte> expect = batch_for(seq);
        protocol::set_base_offset(expect, at);
        ASSERT_TRUE(std::equal(expect.begin(), expect.end(), b.bytes().begin(), b.bytes().end()))
            << "batch at offset " << at.value() << " differs from seq " << seq;
        stored[at.value()] = seq;
        prev_seq = seq;
        at = b.next_offset();
        rest = rest.subspan(n);
      }
      ASSERT_EQ(at, r->next_offset);
    }
    for (const auto& [offset, seq] : acked) {
      auto it = stored.find(offset);
      ASSERT_NE(it, stored.end()) << "acknowledged batch seq " << seq << " at offset " << offset
                                  << " lost in round " << round;
      ASSERT_EQ(it->second, seq);
    }
    next_seq = prev_seq + 1;
  }
  std::printf("crash test: %zu acknowledged batches checked, %zu torn tails recovered\n",
              total_acks, tears);
  EXPECT_GT(total_acks, 0u);
}

}  // namespace
}  // namespace ferry::storage
