"""Commands shown in the project's Markdown: the fenced shell blocks, and how they are marked.

Conventions (documented here and at the top of tests/docs/test_doc_commands.py):

* Every fenced block carries a language. ``sh``, ``bash`` and ``shell`` blocks hold commands:
  each line is one command (a line ending in ``\\`` continues on the next; lines starting
  with ``#`` are comments). ``text``, ``toml``, ``yaml``, ``json``, ``nginx``, ``ini`` and
  ``python`` blocks are not commands. A block without a language is an error, so that a
  command added without one cannot slip past the doc test.
* A command block whose nearest non-blank line above starts with
  ``> Example: needs a real installation`` is shown but not run (it needs Jira or
  Confluence, a production Redis, root, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

COMMAND_LANGUAGES = frozenset({"sh", "bash", "shell"})
OTHER_LANGUAGES = frozenset({"text", "toml", "yaml", "json", "nginx", "ini", "python"})
EXAMPLE_MARKER = "> Example: needs a real installation"
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True)
class Block:
    source: str  # file name, for messages
    line: int  # 1-based line of the opening fence
    language: str
    section: str  # the nearest heading above
    example: bool  # marked as needing a real installation
    text: str

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line} ({self.section})"

    def commands(self) -> list[str]:
        """One string per command: continuation lines joined, comments and blanks dropped."""
        commands: list[str] = []
        pending = ""
        for raw in self.text.splitlines():
            line = raw.strip()
            if not pending and (not line or line.startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            commands.append(pending + line)
            pending = ""
        if pending:
            commands.append(pending.strip())
        return commands


def blocks(path: Path, source: str | None = None) -> list[Block]:
    """Every fenced block of a Markdown file, in order."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    section = "(top)"
    i = 0
    while i < len(lines):
        line = lines[i]
        heading = _HEADING.match(line)
        if heading:
            section = heading.group(1)
        match = _FENCE.match(line)
        if not match:
            i += 1
            continue
        fence = match.group(2)
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        above = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        found.append(
            Block(
                source=source or path.name,
                line=start + 1,
                language=match.group(3).lower(),
                section=section,
                example=above.startswith(EXAMPLE_MARKER),
                text="\n".join(body),
            )
        )
    return found


def first_command(path: Path, heading: str) -> str:
    """The first command of the first command block under ``## heading``."""
    for block in blocks(path):
        if block.section == heading and block.language in COMMAND_LANGUAGES:
            return block.commands()[0]
    raise LookupError(f"{path.name}: no command block under the heading {heading!r}")
