"""``actorhttp.__version__``: the installed distribution's, which is pyproject.toml's.

The built sdist and wheel are checked by ``scripts/check_dist.py``, which
``scripts/test.sh`` runs before the tests, so that they are not built twice.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.version import Version

import actorhttp

ROOT = Path(__file__).resolve().parent.parent  # the checkout or unpacked sdist: pyproject.toml


def pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        version: str = tomllib.load(file)["project"]["version"]
    return version


def test_version_is_the_installed_distributions() -> None:
    try:
        installed = importlib.metadata.version("actorhttp")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("actorhttp is not installed: no metadata (scripts/venv.sh installs it)")
    assert actorhttp.__version__ == installed == pyproject_version()
    assert Version(actorhttp.__version__) == Version(pyproject_version())


def test_version_without_metadata_is_a_valid_placeholder() -> None:
    code = (
        "import importlib.metadata as m\n"
        "def missing(name): raise m.PackageNotFoundError(name)\n"
        "m.version = missing\n"
        "import actorhttp\n"
        "print(actorhttp.__version__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,  # the checkout's actorhttp first on sys.path, as for these tests
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "0+unknown", result.stderr
    assert Version("0+unknown") < Version("0.0.1")  # below any release


def test_version_is_not_star_exported() -> None:
    # As trio and aiohttp: public, but `from actorhttp import *` brings the API only
    # (tests/test_layout.py pins __all__).
    assert "__version__" not in actorhttp.__all__
    assert isinstance(actorhttp.__version__, str)
