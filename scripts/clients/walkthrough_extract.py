#!/usr/bin/env python3
"""Extracts the README's walkthrough shell blocks into one bash script.

A walkthrough section starts at a level-2 heading whose text begins with
"Walkthrough" (`## Walkthrough 1: ...`) and ends at the next level-1 or
level-2 heading. Inside, every fenced code block whose info string starts
with `sh`, `bash` or `shell` is taken, in order; add `norun` to the info
string (```sh norun) to show a block without running it. Other blocks
(```console, ```text, ```json, output) are ignored.

Markdown details handled: ``` and ~~~ fences of any length >= 3, closing
fences of the same character and at least the same length, up to three
spaces of indentation (indented fences, e.g. inside list items, have that
indentation removed from their lines), `#` lines inside code blocks are not
headings, setext headings are not used for walkthroughs.

The script runs every block in one bash process with `set -euo pipefail`, so
variables set in one block are visible in the next; an ERR trap names the
file, line and section of the failing command.

    walkthrough_extract.py README.md > walkthrough.sh
    walkthrough_extract.py --list README.md      # where the blocks are
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import List

HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})[ \t]*([^`]*?)[ \t]*$")
SHELL_LANGS = {"sh", "bash", "shell"}


@dataclass
class Block:
    section: str
    line: int  # 1-based line of the first code line
    code: str


def extract(text: str) -> List[Block]:
    blocks: List[Block] = []
    section = None  # title of the current walkthrough section, or None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = FENCE_OPEN.match(line)
        if m:
            indent, fence, info = len(m.group(1)), m.group(2), m.group(3)
            # A backtick fence's info string may not contain backticks (CommonMark).
            close = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
            body: List[str] = []
            start = i + 2
            i += 1
            while i < len(lines) and not close.match(lines[i]):
                body.append(_dedent(lines[i], indent))
                i += 1
            i += 1  # past the closing fence (or the end of the document)
            words = info.split()
            lang = words[0].lower() if words else ""
            if section is not None and lang in SHELL_LANGS and "norun" not in words[1:]:
                blocks.append(Block(section, start, "\n".join(body)))
            continue
        h = HEADING.match(line)
        if h and len(h.group(1)) <= 2:
            title = (h.group(2) or "").strip()
            section = title if len(h.group(1)) == 2 and title.startswith("Walkthrough") else None
        i += 1
    return blocks


def _dedent(line: str, indent: int) -> str:
    n = 0
    while n < indent and n < len(line) and line[n] == " ":
        n += 1
    return line[n:]


def render(path: str, blocks: List[Block]) -> str:
    out = [
        "#!/usr/bin/env bash",
        f"# Generated from {path} by scripts/clients/walkthrough_extract.py; do not edit.",
        "set -Eeuo pipefail",
        "__wt_at='(start)'",
        "trap 'echo \"walkthrough FAILED: $__wt_at, command: $BASH_COMMAND\" >&2' ERR",
    ]
    for b in blocks:
        where = f"{path}:{b.line} ({b.section})"
        out.append("")
        out.append(f"# --- {where}")
        out.append(f"__wt_at={_quote(where)}")
        out.append(f"echo {_quote('--- ' + where)} >&2")
        out.append(b.code)
    out.append("")
    out.append(f"echo {_quote(f'walkthrough OK: {len(blocks)} block(s) from {path}')} >&2")
    return "\n".join(out) + "\n"


def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def main(argv: List[str]) -> int:
    list_only = False
    if argv and argv[0] == "--list":
        list_only, argv = True, argv[1:]
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[0]
    with open(path, encoding="utf-8") as f:
        blocks = extract(f.read())
    if list_only:
        for b in blocks:
            print(f"{path}:{b.line}\t{b.section}\t{len(b.code.splitlines())} line(s)")
        return 0
    sys.stdout.write(render(path, blocks))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
