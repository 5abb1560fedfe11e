// The build's version, commit and type (build_info.h). FERRY_VERSION and FERRY_BUILD_TYPE come
// from CMake; build_commit.h is written by build_info.cmake on every build, and only this file
// recompiles when the commit changes.
#include "admin/build_info.h"

// Compiled outside CMake (the fuzz build compiles every library source at once) the generated
// header is absent and the commit reads "unknown".
#if __has_include("build_commit.h")
#include "build_commit.h"
#endif
#ifndef FERRY_GIT_COMMIT
#define FERRY_GIT_COMMIT "unknown"
#endif

#ifndef FERRY_VERSION
#define FERRY_VERSION "unknown"
#endif
#ifndef FERRY_BUILD_TYPE
#define FERRY_BUILD_TYPE "unknown"
#endif

namespace ferry::build {

std::string_view version() noexcept { return FERRY_VERSION; }
std::string_view commit() noexcept { return FERRY_GIT_COMMIT; }
std::string_view build_type() noexcept { return FERRY_BUILD_TYPE; }

}  // namespace ferry::build
