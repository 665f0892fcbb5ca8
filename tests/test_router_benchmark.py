"""benchmarks/router.py runs and prints its table (its --quick smoke mode)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
