"""Every command shown in README.md and docs/ runs, as written, against a test stack.

How a command is found (tests/docs/commands.py):
- Every fenced block must carry a language. ``sh``/``bash``/``shell`` blocks hold commands,
  one per line (``\\`` continues a line, ``#`` lines are comments); ``text``, ``toml``,
  ``yaml``, ``json``, ``nginx``, ``ini`` and ``python`` blocks are not commands. A block
  without a language, or with another one, fails test_every_block_has_a_known_language.
- MARKER: a command block whose nearest non-blank line above starts with
  ``> Example: needs a real installation`` is shown to readers but not run (it needs Jira or
  Confluence, a production Redis, root, ...). This is the only way to leave a command out.
- RUN_ELSEWHERE below lists the commands another test or CI runs instead, with which.

How a command runs: with ``bash -c``, in the order of the documents, in one working
folder holding ``seatgate.toml`` (the settings of a running test stack: Redis, the Jira
simulator, a worker and a proxy) and a Jira access log ``access_log.2026-11-21``;
``seatgate`` on PATH is this checkout's. Commands starting with ``.venv/`` or ``scripts/``
name files of the checkout and run in the repository root. Each must exit with status 0.

Adding a command to the README? Give it ``--config seatgate.toml`` when it needs the
stack, use the access log above when it reads one, or mark its block with the marker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.commands import COMMAND_LANGUAGES, EXAMPLE_MARKER, OTHER_LANGUAGES, Block, blocks
from tests.helpers import REPO
from tests.report.conftest import ACTIVITY, BACKGROUND, PASSIVE, jira_line

pytestmark = pytest.mark.slow

# command prefix → what runs it instead of this test
RUN_ELSEWHERE = {
    "scripts/demo.sh": "tests/packaging/test_quickstart.py, on a fresh clone, as the README's first Quickstart command",
    "scripts/test.sh": "CI: .ci/run is scripts/test.sh (with pytest arguments it runs a part of the same suite)",
}
COMMAND_DEADLINE = 180


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def all_blocks() -> list[Block]:
    return [block for doc in documents() for block in blocks(doc, str(doc.relative_to(REPO)))]


def test_every_block_has_a_known_language() -> None:
    unknown = [
        f"{b.where}: {b.language or 'no language'}"
        for b in all_blocks()
        if b.language not in COMMAND_LANGUAGES | OTHER_LANGUAGES
    ]
    assert not unknown, f"label these fenced blocks (sh for commands, text for output and drawings): {unknown}"


def test_the_extractor_sees_commands_and_the_marker(tmp_path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        f"# A\n\n```sh\nseatgate rules list \\\n    --json   # all\n# a comment\n\nseatgate status\n```\n\n"
        f"{EXAMPLE_MARKER} (a Jira).\n\n```bash\nseatgate worker\n```\n\n```\nunlabelled\n```\n"
    )
    found = blocks(doc)
    assert found[0].commands() == ["seatgate rules list --json   # all", "seatgate status"]
    assert (found[0].example, found[1].example, found[1].section) == (False, True, "A")
    assert found[2].language == ""  # what test_every_block_has_a_known_language refuses


def access_log(path: Path) -> Path:
    lines = []
    for minute in range(0, 40, 2):
        stamp = f"21/Nov/2026:09:{minute:02d}:00 +0000"
        lines += [jira_line(stamp, "alice", ACTIVITY), jira_line(stamp, "bob", BACKGROUND)]
        lines.append(jira_line(stamp, "carol", PASSIVE if minute % 4 else ACTIVITY))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_command_runs_as_written(make_stack, tmp_path) -> None:
    stack = make_stack(product_overrides={"inactivity": "10m"}).start()
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(stack.tmp / "worker0.toml", work / "seatgate.toml")
    access_log(work / "access_log.2026-11-21")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATGATE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}"

    ran, left_out, failures = [], [], []
    for block in all_blocks():
        if block.language not in COMMAND_LANGUAGES:
            continue
        if block.example:
            left_out += [f"{block.where}: {c}" for c in block.commands()]
            continue
        for command in block.commands():
            elsewhere = next((why for prefix, why in RUN_ELSEWHERE.items() if command.startswith(prefix)), None)
            if elsewhere:
                left_out.append(f"{block.where}: {command} (run by {elsewhere})")
                continue
            cwd = REPO if command.startswith((".venv/", "scripts/")) else work
            try:
                done = subprocess.run(
                    ["bash", "-c", command],
                    cwd=cwd,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=COMMAND_DEADLINE,
                )
            except subprocess.TimeoutExpired:
                failures.append(f"{block.where}: {command}\n  did not finish within {COMMAND_DEADLINE}s")
                continue
            ran.append(command)
            if done.returncode != 0:
                failures.append(f"{block.where}: {command}\n  exit {done.returncode}\n  {done.stderr.strip()[-1500:]}")
    print("ran:", *ran, "not run here:", *left_out, sep="\n  ")
    assert not failures, "\n".join(failures)
    assert ran, "no command ran: the extractor found nothing"
