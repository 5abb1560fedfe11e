// Start-up progress of LogManager::open_all(), for the service manager's STATUS= line.
//
// A process-wide hook rather than a LogManager member: it is set by the composition root
// (app::Node) around start-up only, and nothing else in storage depends on it. open_all() calls
// it on its own (the loop's) thread after each partition opened, with the number opened so far
// and the number of directory entries it looks at (an upper bound on partitions). Not
// thread-safe: set and cleared on the loop thread before and after start-up.
#pragma once

#include <cstddef>
#include <functional>

namespace ferry::storage {

using OpenProgress = std::function<void(size_t opened, size_t entries)>;
// Replaces the hook; an empty function turns it off.
void set_open_progress(OpenProgress progress);
// Calls the hook if one is set.
void report_open_progress(size_t opened, size_t entries);

}  // namespace ferry::storage
