# Shared part of the ARM toolchain files: Debian's cross compiler for FERRY_TRIPLET and the
# target's multiarch -dev packages; tests run under qemu-user (FERRY_QEMU). Include this after
# setting CMAKE_SYSTEM_PROCESSOR, FERRY_TRIPLET and FERRY_QEMU.
set(CMAKE_SYSTEM_NAME Linux)

set(CMAKE_C_COMPILER ${FERRY_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${FERRY_TRIPLET}-g++)

# Libraries and headers: the target's multiarch directories first, then the shared /usr/include
# (architecture-independent headers such as CLI11 and toml++).
set(CMAKE_LIBRARY_ARCHITECTURE ${FERRY_TRIPLET})
set(CMAKE_FIND_ROOT_PATH /usr/${FERRY_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
list(APPEND CMAKE_PREFIX_PATH /usr/lib/${FERRY_TRIPLET}/cmake)

# pkg-config must read the target's .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${FERRY_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# ctest runs the test programs under qemu-user. The emulated legs link statically
# (FERRY_STATIC, on by default here): qemu-user 7.2 runs a statically linked guest's threads and
# fork() reliably, so every unit and crash test runs, libuv's thread pool included. A dynamically
# linked guest (-DFERRY_STATIC=OFF) runs with the target's loader and libraries, and FERRY_EMULATED
# tells the tests that need threads or fork() to skip: there pthread_create and fork hang.
set(FERRY_STATIC ON CACHE BOOL "Link the ferry executable and the test programs statically")
if(FERRY_STATIC)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FERRY_QEMU})
else()
  set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/env;FERRY_EMULATED=1;${FERRY_QEMU};-L;/usr/${FERRY_TRIPLET})
endif()
