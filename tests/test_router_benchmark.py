"""benchmarks/router.py runs and prints its table (its --quick smoke mode)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.router import SHAPES

ROOT = Path(__file__).resolve().parent.parent


def test_quick_run_prints_a_row_of_figures_per_shape() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/router.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| shape |"))
    assert "| N=10 | N=100 | N=1,000 | 1,000/10 |" in header
    assert "| aiohttp N=10 |" in header
    assert "| vs aiohttp at 1,000 |" in header
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in lines if line[:2] == "| "}
    for shape in SHAPES:
        cells = rows[shape.name].strip("| ").split(" | ")[1:]
        assert len(cells) == len(header.strip("| ").split(" | ")) - 1, rows[shape.name]
        for cell in cells:  # "2.6", "1,234", "1.02x", "67x" or "1/240"
            number = cell.removesuffix("x").removeprefix("1/").replace(",", "")
            assert float(number) > 0, cell
    assert any(line.startswith("Target us(N=1,000) <= 1.5 x us(N=10)") for line in lines)


@pytest.mark.skipif(
    shutil.which("wrk") is None,
    reason="wrk is not installed (scripts/test.sh installs it with apt-get when it can)",
)
def test_end_to_end_quick_run_serves_10_and_10000_routes() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/router_e2e.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 10")]
    assert [row.split(" | ")[0] for row in rows] == ["| 10", "| 10,000"]
    ratio = float(rows[1].rstrip(" |").rsplit(" | ", 1)[1].removesuffix("x"))
    assert ratio > 0.5  # a loose floor for a noisy machine: the benchmark itself says 0.85
