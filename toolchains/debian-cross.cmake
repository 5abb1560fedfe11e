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

# ctest runs the test programs under qemu-user. The emulated legs link statically by default
# (FERRY_STATIC): the guest needs no loader or libraries. A dynamically linked guest
# (-DFERRY_STATIC=OFF) runs with the target's multiarch loader and libraries (-L /, i.e.
# /lib/ld-linux-*.so and /usr/lib/${FERRY_TRIPLET}): the cross compiler's own copy of glibc under
# /usr/${FERRY_TRIPLET} is a different build from the multiarch libc6 that the target's -dev
# packages pull in, and its loader paired with the multiarch libc.so.6 (found through the host's
# ld.so.cache) hangs the first pthread_create or fork, as any ld.so/libc.so version mismatch may.
set(FERRY_STATIC ON CACHE BOOL "Link the ferry executable and the test programs statically")
set(CMAKE_CROSSCOMPILING_EMULATOR ${FERRY_QEMU};-L;/)
