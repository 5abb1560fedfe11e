// The broker-wide budget for request and response bytes held by connections
// (queued.max.request.bytes).
//
// What is charged. A request frame from the moment its size prefix is read until its response
// is ready (partial frames included: a frame is charged in full before its body is read), and a
// response from the moment its slot completes until the socket took it. Both are memory the
// broker holds on a client's behalf; together they may not grow past the capacity.
//
// Requests wait, responses do not. A connection that wants to read a frame which does not fit
// stops reading (the client's bytes stay in the kernel) and waits; each release lets every
// waiter retry in arrival order, so reading resumes as charges are released. A response is charged
// when its handler produced it (the memory is already allocated) and may take the total over the
// capacity; that only delays further reads.
//
// Room for newcomers. An eighth of the capacity is a reserve that only connections holding no
// charge may use, for one frame at a time, when the rest is taken; connections that pile up
// partial frames or unread responses cannot lock a well-behaved client out. A frame admitted
// from the reserve costs at least kReserveUnit there until its response is ready, which bounds
// how many such requests are handled at once. Responses are charged to the main part.
//
// What is not bounded by the capacity: each connection that holds nothing can have one request
// admitted from the reserve and so one response queued beyond the capacity. A client that never
// reads keeps that response until connections.max.idle.ms closes it; max.connections times the
// largest response is the worst case.
//
// No deadlock. The connection caps frames at the capacity (socket.request.max.bytes' effective
// value), and a connection holding nothing may take a frame of any such size into the main part
// when nothing else is charged there, so every frame fits once the others' charges are released.
//
// Threading: loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

namespace ferry::net {

// Implemented by whoever waits for room (a Connection).
class BudgetWaiter {
 public:
  // Called from release() when room may be available. Returns true when the waiter got what it
  // waited for (or no longer waits); false keeps it in line.
  virtual bool retry_budget() = 0;

 protected:
  ~BudgetWaiter() = default;
};

class MemoryBudget {
 public:
  // Which part of the budget a charge came from; release it to the same part.
  enum class Pool : uint8_t { main, reserve };

  explicit MemoryBudget(uint64_t capacity) noexcept
      : capacity_(capacity), reserve_(capacity / 8), main_(capacity - reserve_) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // What a frame admitted from the reserve costs there.
  static constexpr uint64_t kReserveUnit = 1u << 20;
  uint64_t reserve_cost(uint64_t bytes) const noexcept {
    const uint64_t unit = kReserveUnit < reserve_ ? kReserveUnit : reserve_;
    return bytes > unit ? bytes : unit;
  }

  uint64_t capacity() const noexcept { return capacity_; }
  uint64_t used() const noexcept { return used_ + reserve_used_; }
  size_t waiting() const noexcept { return waiters_.size(); }

  // Reserves `bytes` for a request frame if it fits, setting *pool. `holder_empty`: the caller
  // holds no charge (it may then use the reserve, where it is charged reserve_cost(bytes)).
  bool try_reserve(uint64_t bytes, bool holder_empty, Pool* pool) noexcept;
  // Charges a response to the main part (always succeeds; may exceed the capacity).
  void charge(uint64_t bytes) noexcept { used_ += bytes; }
  // Gives bytes back and lets waiters retry in order.
  void release(uint64_t bytes, Pool pool = Pool::main);
  // Queues a waiter (at the back) until release() lets it retry.
  void wait(std::weak_ptr<BudgetWaiter> waiter) { waiters_.push_back(std::move(waiter)); }

 private:
  uint64_t capacity_;
  uint64_t reserve_;
  uint64_t main_;
  uint64_t used_ = 0;          // main part
  uint64_t reserve_used_ = 0;  // reserve
  std::deque<std::weak_ptr<BudgetWaiter>> waiters_;
  bool waking_ = false;
};

}  // namespace ferry::net
