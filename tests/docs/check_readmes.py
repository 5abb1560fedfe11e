#!/usr/bin/env python3
"""Checks that every folder README names the source files it describes.

A README.md in a folder describes the source files directly in that folder, and those in any
subfolder it names as a whole (`handlers/`, `unit/broker/`) unless that subfolder has a README
of its own. Every such file must be mentioned by name in the README (`log.h`, or the brace form
`log.{h,cc}`). A folder holding source files that no README describes is reported too.

Checked: every README.md below the repository root (not the root's own, which is the project's
front page). Source files: .h .cc .py .js .sh .cmake .toml. Skipped: hidden folders, build
folders (build, build-*), node_modules, __pycache__.

Usage: check_readmes.py [REPO_ROOT]      (default: two levels above this script)
       check_readmes.py --self-test      (checks the checker on a made-up tree)
Exit status 0 when every README is complete, 1 otherwise (the missing names are printed).
Standard library only.
"""

import os
import re
import sys
import tempfile

SOURCE_EXTS = (".h", ".cc", ".py", ".js", ".sh", ".cmake", ".toml")
BRACE = re.compile(r"([\w.-]+)\.\{([\w.,]+)\}")


def skipped_dir(name):
    return (name.startswith(".") or name == "build" or name.startswith("build-") or
            name in ("node_modules", "__pycache__"))


def source_files(folder):
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [n for n in names
            if n.endswith(SOURCE_EXTS) and os.path.isfile(os.path.join(folder, n))]


def subfolders(folder):
    return [n for n in sorted(os.listdir(folder))
            if not skipped_dir(n) and os.path.isdir(os.path.join(folder, n))]


def mentioned_names(text):
    """The README's text plus every `stem.{a,b}` written out as `stem.a stem.b`."""
    expanded = [f"{m.group(1)}.{ext}" for m in BRACE.finditer(text)
                for ext in m.group(2).split(",") if ext]
    return text + "\n" + "\n".join(expanded)


def mentions(text, name):
    # The name as a whole word: not part of `catalog.h` or `log.hpp`; `common/log.h` counts.
    return re.search(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])", text) is not None


def names_folder(text, rel):
    """Whether the README names the subfolder `rel` (relative to it) as a whole: `rel/`."""
    return re.search(r"(?<![\w.-])" + re.escape(rel) + r"/", text) is not None


def check(root):
    """Returns a list of problems, each a line of text."""
    problems = []
    described = set()  # folders some README covers

    readmes = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not skipped_dir(d))
        if "README.md" in filenames and os.path.abspath(dirpath) != os.path.abspath(root):
            readmes.append(dirpath)

    for folder in readmes:
        readme = os.path.join(folder, "README.md")
        with open(readme, encoding="utf-8") as f:
            text = mentioned_names(f.read())
        missing = []
        # The folder itself, then the named subfolders without a README of their own.
        pending = [""]
        while pending:
            rel = pending.pop(0)
            here = os.path.join(folder, rel) if rel else folder
            described.add(os.path.abspath(here))
            for name in source_files(here):
                if not mentions(text, name):
                    missing.append(os.path.join(rel, name) if rel else name)
            for sub in subfolders(here):
                sub_rel = os.path.join(rel, sub) if rel else sub
                if os.path.isfile(os.path.join(here, sub, "README.md")):
                    continue
                if names_folder(text, sub_rel) or (rel and names_folder(text, sub)):
                    pending.append(sub_rel)
        for name in missing:
            problems.append(f"{os.path.relpath(readme, root)}: does not mention {name}")

    # Folders with source files that no README describes.
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not skipped_dir(d))
        if os.path.abspath(dirpath) == os.path.abspath(root):
            continue
        if source_files(dirpath) and os.path.abspath(dirpath) not in described:
            rel = os.path.relpath(dirpath, root)
            above = os.path.dirname(rel)
            while above and not os.path.isfile(os.path.join(root, above, "README.md")):
                above = os.path.dirname(above)
            hint = f"add {rel}/README.md"
            if above:
                hint += (f", or name `{os.path.relpath(rel, above)}/` in {above}/README.md and "
                         "its files there")
            problems.append(f"{rel}/: holds source files but no README describes it ({hint})")
    return problems


def self_test():
    """The checker must find each kind of omission and accept a complete tree."""
    def write(path, text=""):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    failures = []
    with tempfile.TemporaryDirectory() as root:
        write(f"{root}/README.md", "front page")
        write(f"{root}/mod/README.md", "- `log.{h,cc}` — the log\n- `handlers/` — `produce.cc`\n")
        for name in ("log.h", "log.cc", "catalog.h", "handlers/produce.cc", "handlers/fetch.cc",
                     "notes.txt", "build/gen.h", "node_modules/x/index.js", "loose/a.py"):
            write(f"{root}/mod/{name}")
        write(f"{root}/other/README.md", "nothing named")
        write(f"{root}/other/tool.sh")
        got = sorted(check(root))
        want = sorted([
            "mod/README.md: does not mention catalog.h",
            "mod/README.md: does not mention handlers/fetch.cc",
            "other/README.md: does not mention tool.sh",
        ])
        got_loose = [p for p in got if p.startswith("mod/loose/")]
        got = [p for p in got if not p.startswith("mod/loose/")]
        if got != want:
            failures.append(f"expected {want}, got {got}")
        if len(got_loose) != 1:
            failures.append(f"expected the undescribed folder mod/loose/ reported, got {got_loose}")
        write(f"{root}/mod/README.md", "`log.h` `log.cc` `catalog.h` `handlers/` `produce.cc` "
              "`fetch.cc` `loose/` `a.py`")
        write(f"{root}/other/README.md", "`tool.sh`")
        if check(root):
            failures.append(f"a complete tree reported {check(root)}")
    for f in failures:
        print(f"FAIL self-test: {f}")
    if not failures:
        print("self-test passed")
    return 1 if failures else 0


def main(argv):
    if len(argv) > 1 and argv[1] == "--self-test":
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    root = os.path.abspath(root)
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"FAIL: {len(problems)} file(s) or folder(s) not described by their README; "
              "mention each by name with a short phrase on what it does")
        return 1
    print("every README names its files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
