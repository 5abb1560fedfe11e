#!/usr/bin/env python3
"""The build targets a CI leg needs to run its selection of tests, for `cmake --build --target`.

Usage: leg_targets.py BUILD_DIR [CTEST_ARGS...]

Asks ctest (in BUILD_DIR, with CTEST_ARGS such as -LE LABELS) which tests the leg runs, reads
their command lines from the CTestTestfile.cmake files (the test program, its arguments and
ENVIRONMENT values), keeps the paths inside BUILD_DIR that the build system produces (ninja's
outputs), and prints them one per line. A test that runs `ferry` (an argument that is the
binary's path) therefore gets `ferry` built too. Exits non-zero when no test is selected, so a
leg never silently builds nothing; a test whose program was not built fails in ctest ("Could not
find executable"), loudly.
"""
import os
import re
import subprocess
import sys

ADD_TEST = re.compile(r"^add_test\(\[=\[(.*?)\]=\]\s+(.*)\)\s*$")
SET_PROPS = re.compile(r"^set_tests_properties\(\[=\[(.*?)\]=\]\s+PROPERTIES\s+(.*)\)\s*$")
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def selected_tests(build_dir, ctest_args):
    out = subprocess.run(["ctest", "-N", *ctest_args], cwd=build_dir, check=True,
                         capture_output=True, text=True).stdout
    return {m.group(1) for m in re.finditer(r"^\s*Test\s+#\d+: (\S+)$", out, re.M)}


def test_words(build_dir):
    """Test name -> the quoted words of its add_test and ENVIRONMENT lines."""
    words = {}
    for root, _dirs, files in os.walk(build_dir):
        if "CTestTestfile.cmake" not in files:
            continue
        with open(os.path.join(root, "CTestTestfile.cmake")) as f:
            for line in f:
                m = ADD_TEST.match(line) or SET_PROPS.match(line)
                if not m:
                    continue
                found = QUOTED.findall(m.group(2))
                if m.re is SET_PROPS:
                    # Only ENVIRONMENT values can name programs: VAR=path;VAR2=path2.
                    env = re.search(r'ENVIRONMENT\s+"([^"]*)"', m.group(2))
                    found = [v.split("=", 1)[-1] for v in env.group(1).split(";")] if env else []
                words.setdefault(m.group(1), []).extend(found)
    return words


def ninja_outputs(build_dir):
    out = subprocess.run(["ninja", "-C", build_dir, "-t", "targets", "all"], check=True,
                         capture_output=True, text=True).stdout
    return {line.rsplit(": ", 1)[0] for line in out.splitlines() if ": " in line}


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    build_dir = os.path.realpath(sys.argv[1])
    tests = selected_tests(build_dir, sys.argv[2:])
    if not tests:
        print("leg_targets: ctest selects no test", file=sys.stderr)
        return 1
    words = test_words(build_dir)
    outputs = ninja_outputs(build_dir)
    targets = []
    for name in sorted(tests):
        mine = []
        for w in words.get(name, []):
            if not os.path.isabs(w):
                continue
            rel = os.path.relpath(os.path.realpath(w), build_dir)
            if rel in outputs:
                mine.append(rel)
        targets.extend(t for t in mine if t not in targets)
    print("\n".join(targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
