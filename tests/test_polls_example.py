"""The aiohttp-demos polls port (``examples/polls``) passes its own tests, in a process of its own.

Those tests (``tests/polls_app``) are the original's, run with pytest-aiohttp's
fixture names; the example imports ``actorhttp.aiohttp_patch`` (for
aiohttp_jinja2), which changes ``sys.modules``, so they run in a separate
pytest process and never in this one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLLS = Path(__file__).resolve().parent / "polls_app"


def test_the_polls_example_passes_its_own_tests() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-c",
            "tests/polls_app/pytest.ini",
            "tests/polls_app",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout, result.stdout


def test_the_main_process_never_imports_the_patch() -> None:
    assert "actorhttp.aiohttp_patch" not in sys.modules
