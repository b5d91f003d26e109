"""What `pip install seatgate` ships: the two components and their shared package, and
neither the simulator nor fakeredis (they belong to the separate `simulator/` distribution)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from tests.helpers import REPO


def _build_wheel(source: Path, out: Path) -> Path:
    # Built from a copy: pip builds a local project in place and would leave build/ behind.
    copy = out / "src"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "tests"))
    source = copy
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        check=True,
        timeout=300,
    )
    (wheel,) = out.glob("*.whl")  # the copy is inside out/, its own build/ is not searched
    return wheel


def _metadata(wheel: Path) -> tuple[set[str], list[str]]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(meta_name).decode())
    top_level = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    return top_level, meta.get_all("Requires-Dist") or []


def test_runtime_wheel_has_no_simulator_and_no_fakeredis(tmp_path: Path) -> None:
    top_level, requires = _metadata(_build_wheel(REPO, tmp_path))
    assert top_level == {"seatgate", "proxy_addon", "grant_worker"}
    runtime = [r for r in requires if "extra ==" not in r]
    assert runtime, "the runtime dependencies went missing"
    assert not [r for r in runtime if r.lower().startswith(("fakeredis", "seatgate-simulator"))]


def test_simulator_wheel_carries_simulator_and_demo(tmp_path: Path) -> None:
    top_level, requires = _metadata(_build_wheel(REPO / "simulator", tmp_path))
    assert top_level == {"seatgate_simulator"}
    assert any(r.lower().startswith("fakeredis") for r in requires)
