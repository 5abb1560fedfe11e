# Cross-compiling for armhf (32-bit ARMv7, hard float) with Debian's cross compiler and multiarch packages:
#   cmake -S . -B build/arm -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake && ctest
set(CMAKE_SYSTEM_PROCESSOR arm)
set(FERRY_TRIPLET arm-linux-gnueabihf)
set(FERRY_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
