"""`mfawatch demo`, as a newcomer runs it: twice in a row, then the next steps it prints,
typed from where the user is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.crawl


def demo(cwd: Path, folder: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "mfawatch", "demo", "--dir", folder],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def next_steps(stdout: str) -> list[str]:
    """The command lines printed after "Explore it:"."""
    tail = stdout.rsplit("Explore it:\n", 1)[1]
    return [line.strip() for line in tail.splitlines() if line.startswith("    ")]


def test_demo_runs_twice_and_its_next_steps_work_from_where_the_user_is(tmp_path: Path):
    demo(tmp_path, "first/demo")
    stdout = demo(tmp_path, "first/demo")  # the second run starts over, its locks in place
    assert "The archive is first/demo/mfawatch.db." in stdout
    # It ends verified, and exported: a WARC that warcio itself checks.
    assert "every chain and every hash holds" in stdout
    assert "written to demo.warc.gz" in stdout
    warc = tmp_path / "first/demo/demo.warc.gz"
    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", str(warc)],
                           capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    steps = next_steps(stdout)
    assert steps[0] == "cd first/demo" and len(steps) == 4, steps
    # Typed one after the other in the user's shell, from the folder they ran the demo in.
    shell = subprocess.run(
        ["bash", "-ec", "\n".join(steps)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert shell.returncode == 0, shell.stderr
    assert "silent_edit" in shell.stdout and "date_regressed" in shell.stdout
    assert "about 70 documents" in shell.stdout  # show --at: the text before the edits
