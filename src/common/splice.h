// A piece of output that lives outside the buffer being assembled: `data` belongs at offset
// `at` of the output (before the buffer's byte at `at`). Used to send stored record batches
// from where they lie instead of copying them into a response buffer.
#pragma once

#include <cstddef>
#include <span>

namespace ferry {

struct Splice {
  size_t at;
  std::span<const std::byte> data;
};

}  // namespace ferry
