# Cross-compiling for arm64 (64-bit ARMv8) with Debian's cross compiler and multiarch packages:
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake && ctest
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(FERRY_TRIPLET aarch64-linux-gnu)
set(FERRY_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
