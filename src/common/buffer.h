// A byte buffer whose growth does not zero-fill: for memory about to be overwritten by a read
// (request frames), where zeroing first would cost as much as the copy itself.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace ferry {

// An allocator that default-initialises (leaves trivially constructible elements
// uninitialised) where std::allocator value-initialises.
template <typename T, typename A = std::allocator<T>>
class DefaultInitAllocator : public A {
  using Traits = std::allocator_traits<A>;

 public:
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U, typename Traits::template rebind_alloc<U>>;
  };
  using A::A;

  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    Traits::construct(static_cast<A&>(*this), p, std::forward<Args>(args)...);
  }
};

// resize() leaves new bytes uninitialised; everything else is std::vector.
using Buffer = std::vector<std::byte, DefaultInitAllocator<std::byte>>;

}  // namespace ferry
