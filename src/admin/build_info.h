// The build's identity, defined once: `ferry --version`, /metrics' ferry_build_info, /v1/status
// and the client software version the CLI commands send all read it from here.
//
// version: the CMake project version. commit: the git commit the sources were at when this
// binary was built (12 hex digits, "-dirty" with uncommitted changes, "unknown" outside a
// checkout), refreshed on every build by build_info.cmake, not only at configure time.
// build_type: CMAKE_BUILD_TYPE. Constant strings; any thread.
#pragma once

#include <string_view>

namespace ferry::build {

std::string_view version() noexcept;
std::string_view commit() noexcept;
std::string_view build_type() noexcept;

}  // namespace ferry::build
