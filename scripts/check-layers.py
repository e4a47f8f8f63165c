#!/usr/bin/env python3
"""The layout's promises, checked over the #include lines (README "Layout", STYLE.md "Layout").

1. One direction: a source folder includes only itself and the folders below it in LAYERS, so no
   two folders include each other and a request's path reads top to bottom.
2. Internal headers stay home: a header whose opening comment says it is internal ("Internal to …")
   is included only from its own folder, and from that folder's mirror under tests/unit/.
3. Only proxy/commands/ prints: the data path, the rules and the trace hand their events to whoever
   listens (a callback), so no printf, puts, std::cout/cerr or stdout/stderr below the commands.

Prints one line per broken promise, naming the file, the line and the rule, and exits 1; exits 0
silently when all hold. Usage: check-layers.py [ROOT] (default: the checkout this script is in);
check-layers.py --self-test plants one break of each kind in a scratch tree and fails unless all
three are found.
"""

import pathlib
import re
import sys
import tempfile

# Top to bottom: the path of one request (accept -> session -> upstream -> the exchange model ->
# trace writer -> redaction -> HAR -> rules -> report), read from the callers down.
LAYERS = [
    "proxy",  # main.cpp: argv -> run
    "proxy/commands",
    "proxy/session",
    "proxy/upstream",
    "proxy/io",
    "proxy/config",
    "capture/trace",
    "capture/export",
    "capture/report",
    "capture/replay",
    "capture/rules",
    "capture/har",
    "capture/redaction",
    "capture/registry",
    "capture/body",
    "capture/model",
    "capture/text",
    "tls",
]
RANK = {folder: rank for rank, folder in enumerate(LAYERS)}
# The folders that may write to the terminal: the commands own the console.
PRINTING = {"proxy", "proxy/commands"}
SOURCE_SUFFIXES = {".cpp", ".hpp"}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)
PRINTS = re.compile(r"\b(?:std::)?(?:printf|puts|fputs|fprintf|vprintf|putchar)\s*\(|\bstd::(?:cout|cerr|clog)\b"
                    r"|\b(?:stdout|stderr)\b")
INTERNAL = re.compile(r"\binternals?\b", re.IGNORECASE)


def strip_comments_and_strings(text):
    """The code without comments, string and character literals (kept line for line)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            open_paren = text.find("(", i + 2)
            delimiter = text[i + 2:open_paren]
            close = text.find(")" + delimiter + '"', open_paren)
            j = n if close < 0 else close + len(delimiter) + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def folder_of(path):
    """The layer folder a file belongs to, or None when it is outside the sources."""
    parent = path.parent.as_posix()
    return parent if parent in RANK else None


def opening_comment(text):
    """The comment lines at the top of a header, after #pragma once."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#pragma") or not stripped:
            if lines:
                break
            continue
        if not stripped.startswith("//"):
            break
        lines.append(stripped)
    return " ".join(lines)


def problems_in(root):
    """Every broken promise in the tree at root, one sentence each."""
    problems = []
    sources = sorted(p for top in ("proxy", "capture", "tls") for p in (root / top).rglob("*")
                     if p.suffix in SOURCE_SUFFIXES)
    tests = sorted(p for p in (root / "tests").rglob("*") if p.suffix in SOURCE_SUFFIXES)

    internal = set()
    for path in sources:
        relative = path.relative_to(root)
        if folder_of(relative) is None:
            problems.append(f"{relative}: its folder {relative.parent.as_posix()}/ is not in the layer order; "
                            "add it to LAYERS in scripts/check-layers.py and to the README's layout")
        if path.suffix == ".hpp" and INTERNAL.search(opening_comment(path.read_text())):
            internal.add(relative.as_posix())

    for path in sources + tests:
        relative = path.relative_to(root)
        folder = folder_of(relative)
        is_test = relative.parts[0] == "tests"
        # A unit test's own folder is the source folder it mirrors: tests/unit/capture/rules -> capture/rules.
        home = relative.parent.relative_to("tests/unit").as_posix() if relative.is_relative_to("tests/unit") else folder
        text = path.read_text()
        for match in INCLUDE.finditer(text):
            target = pathlib.PurePosixPath(match.group(1))
            line = text.count("\n", 0, match.start()) + 1
            target_folder = target.parent.as_posix()
            where = f"{relative}:{line}"
            if target.as_posix() in internal and target_folder != home:
                problems.append(f"{where}: includes {target}, which is internal to {target_folder}/; "
                                "make what it needs public in a header of that folder")
            if is_test or folder is None or target_folder not in RANK:
                continue
            if RANK[target_folder] < RANK[folder]:
                below = ", ".join(f + "/" for f in LAYERS[RANK[folder] + 1:RANK[folder] + 4])
                problems.append(f"{where}: {folder}/ includes {target}, but {target_folder}/ sits above it; "
                                f"a folder includes only itself and the folders below it ({below}…)")
            elif RANK[target_folder] == RANK[folder] and target_folder != folder:
                problems.append(f"{where}: includes {target} from another folder at the same level")
        if not is_test and folder not in PRINTING:
            code = strip_comments_and_strings(text)
            for match in PRINTS.finditer(code):
                line = code.count("\n", 0, match.start()) + 1
                problems.append(f"{relative}:{line}: prints ({match.group(0).strip()}); only proxy/commands/ "
                                "writes to the terminal: hand the event to a callback instead")

    return problems


def self_test():
    """The check must see a wrong-way include, an internal header used elsewhere and a print."""
    planted = {
        "proxy/io/relay.cpp": '#include "proxy/session/server.hpp"\n',
        "proxy/session/server.hpp": "#pragma once\n",
        "capture/har/reader_detail.hpp": "#pragma once\n// Internal to the HAR reader.\n",
        "capture/rules/rule.cpp": '#include "capture/har/reader_detail.hpp"\n',
        "capture/model/exchange.cpp": 'void f() { std::printf("%d", 1); }  // printf( in a comment is fine\n',
        "tls/ca.cpp": 'char const* text = "std::cout in a string is fine";\n',
    }
    with tempfile.TemporaryDirectory() as scratch:
        root = pathlib.Path(scratch)
        (root / "tests").mkdir()
        for name, text in planted.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        found = problems_in(root)
    expected = ["proxy/io/relay.cpp:1", "capture/rules/rule.cpp:1", "capture/model/exchange.cpp:1"]
    missed = [e for e in expected if not any(p.startswith(e + ":") for p in found)]
    if missed or len(found) != len(expected):
        print("check-layers self-test failed: expected one problem at each of", expected, "got:", *found, sep="\n  ")
        return 1
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    problems = problems_in(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"check-layers: {len(problems)} include(s) or print(s) break the layout (README \"Layout\")")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
