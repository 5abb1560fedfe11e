#!/usr/bin/env python3
"""Bytes of a linked ferry binary per library, from the GNU ld map file (-Wl,-Map=FILE).

Usage: size_by_library.py MAP [MAP2]

Sums the sizes of the input sections the linker kept in the loaded, file-backed output sections
(code, read-only data, unwind tables, initialised data; not .bss, not debug info) and groups them
by the archive or object they came from: ferry's own module libraries, the Debian libraries
(SQLite, zstd, mbedTLS, libuv, LZ4, zlib, snappy), libstdc++/libgcc and glibc. Header-only code
(CLI11, toml++, libstdc++ templates) is counted in the ferry module that instantiated it.
With two maps, prints both columns and the difference.
"""
import re
import sys
from collections import defaultdict

# Output sections that occupy bytes in the stripped file.
LOADED = re.compile(r"^\.(text|rodata|eh_frame|gcc_except_table|data|data\.rel\.ro|tdata|init_array|"
                    r"fini_array|init|fini|got|got\.plt|plt|rela\.plt|ARM\.exidx|ARM\.extab|"
                    r"__libc\w*)\b")
# An input section line: " .name  0xADDR 0xSIZE file" (name possibly on the line before).
ENTRY = re.compile(r"^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")


def category(path: str) -> str:
    name = path.split("/")[-1]
    archive = name.split("(")[0]
    rules = [
        ("libsqlite3", "SQLite"), ("libzstd", "zstd"), ("libmbed", "mbedTLS"), ("libuv", "libuv"),
        ("liblz4", "LZ4"), ("libz.a", "zlib"), ("libsnappy", "snappy"), ("libstdc++", "libstdc++"),
        ("libsupc++", "libstdc++"), ("libgcc", "libgcc"),
    ]
    for prefix, label in rules:
        if archive.startswith(prefix):
            return label
    m = re.match(r"libferry_(\w+)\.a", archive)
    if m:
        return "ferry " + m.group(1)
    if archive.endswith(".cc.o") or archive.endswith(".c.o"):
        return "ferry app (main and subcommands)"
    if archive.startswith(("libc.a", "libm.a", "libpthread", "libdl", "librt", "libresolv")) or \
            re.match(r"(crt\w*|Scrt1|rcrt1)\.o$", archive):
        return "glibc"
    if archive.startswith("crt"):
        return "libgcc"
    return "other (" + archive + ")"


def parse(path: str) -> dict:
    sizes = defaultdict(int)
    in_map = False
    loaded = False
    pending = None
    with open(path, errors="replace") as f:
        for line in f:
            if not in_map:
                in_map = line.startswith("Linker script and memory map")
                continue
            if line and not line[0].isspace():
                loaded = bool(LOADED.match(line))
                pending = None
                continue
            if not loaded:
                continue
            m = ENTRY.match(line)
            if m:
                name = m.group(1) or pending
                pending = None
                if name is None or name.startswith("*"):
                    continue
                size = int(m.group(3), 16)
                if size:
                    sizes[category(m.group(4).strip())] += size
                continue
            s = line.strip()
            # A long section name stands alone on its line; its address and size follow.
            pending = s if s.startswith(".") and " " not in s else None
    return sizes


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    maps = [parse(p) for p in sys.argv[1:]]
    keys = sorted(set().union(*maps), key=lambda k: -max(m.get(k, 0) for m in maps))
    if len(maps) == 1:
        print(f"{'part':36} {'KiB':>8}")
        for k in keys:
            print(f"{k:36} {maps[0][k] / 1024:8.0f}")
        print(f"{'total':36} {sum(maps[0].values()) / 1024:8.0f}")
    else:
        print(f"{'part':36} {'KiB A':>8} {'KiB B':>8} {'B-A':>8}")
        for k in keys:
            a, b = maps[0].get(k, 0), maps[1].get(k, 0)
            print(f"{k:36} {a / 1024:8.0f} {b / 1024:8.0f} {(b - a) / 1024:+8.0f}")
        ta, tb = sum(maps[0].values()), sum(maps[1].values())
        print(f"{'total':36} {ta / 1024:8.0f} {tb / 1024:8.0f} {(tb - ta) / 1024:+8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
