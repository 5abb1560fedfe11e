// MemoryBudget: the broker-wide byte budget of connections. See memory_budget.h.
#include "net/memory_budget.h"

namespace ferry::net {

bool MemoryBudget::try_reserve(uint64_t bytes, bool holder_empty, Pool* pool) noexcept {
  if ((used_ <= main_ && bytes <= main_ - used_) || (holder_empty && used_ == 0)) {
    used_ += bytes;
    *pool = Pool::main;
    return true;
  }
  const uint64_t cost = reserve_cost(bytes);
  if (holder_empty && reserve_used_ <= reserve_ && cost <= reserve_ - reserve_used_) {
    reserve_used_ += cost;
    *pool = Pool::reserve;
    return true;
  }
  return false;
}

void MemoryBudget::release(uint64_t bytes, Pool pool) {
  uint64_t& part = pool == Pool::main ? used_ : reserve_used_;
  part -= bytes < part ? bytes : part;
  // A waiter that retries may complete requests and release more: the outermost call does the
  // waking. Every waiter gets a try, in order, so one that does not fit (a large frame, or a
  // connection already holding charges) does not hold back the ones behind it.
  if (waking_ || waiters_.empty()) return;
  waking_ = true;
  std::deque<std::weak_ptr<BudgetWaiter>> line;
  line.swap(waiters_);
  std::deque<std::weak_ptr<BudgetWaiter>> still;
  while (!line.empty()) {
    std::weak_ptr<BudgetWaiter> w = std::move(line.front());
    line.pop_front();
    auto waiter = w.lock();
    if (!waiter) continue;
    if (!waiter->retry_budget()) still.push_back(std::move(w));
  }
  // Waiters queued while retrying came later than those still waiting.
  for (auto& w : waiters_) still.push_back(std::move(w));
  waiters_.swap(still);
  waking_ = false;
}

}  // namespace ferry::net
