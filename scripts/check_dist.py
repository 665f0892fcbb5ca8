"""Build the sdist and the wheel into a temporary folder and check them; scripts/test.sh runs it.

* ``python -m build --no-isolation``: the sdist, then the wheel built from that sdist
  (so a file the sdist leaves out breaks the wheel here, not on a user's machine), with
  the venv's own setuptools: nothing is downloaded, and it takes about a second.
* ``twine check --strict``: the metadata is valid and the README renders as PyPI shows it.
* The wheel is the package alone: ``actorhttp/`` with ``py.typed`` (PEP 561), its
  dist-info with the LICENSE, no tests, examples or benchmarks; its version is
  pyproject.toml's and its license the SPDX expression.
* The sdist is a source release: every file of tests/, examples/, benchmarks/ and
  scripts/ that git tracks (or, outside a git checkout, every one on disk), the README,
  the CHANGELOG and the LICENSE.

Prints one line per check; exits non-zero, saying why, at the first that fails.
"""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FOLDERS = ("tests", "examples", "benchmarks", "scripts")
# What .gitignore keeps out of the repository, and .git: never part of a source release.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", ".*_cache", ".hypothesis", "site"
)
SDIST_FILES = ("pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "actorhttp/py.typed")


class DistError(Exception):
    """A check failed; the message says which and what was found."""


def run(*args: str, cwd: Path) -> str:
    """Run ``python -m args`` in ``cwd``; its output, or DistError with it."""
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,  # not the project root, whose build/ folder python -m would see first
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DistError(f"{' '.join(args[:2])} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def source_files() -> list[str]:
    """The files of SOURCE_FOLDERS a source release must carry, relative to the root."""
    listed = subprocess.run(
        ["git", "ls-files", "--", *SOURCE_FOLDERS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode == 0 and listed.stdout.strip():
        return listed.stdout.split()
    # Not a git checkout (an unpacked sdist, say): what is on disk, less the bytecode.
    return sorted(
        path.relative_to(ROOT).as_posix()
        for folder in SOURCE_FOLDERS
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def check_wheel(wheel: Path, name: str, version: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = f"{name}-{version}.dist-info"
        metadata = email.parser.Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
    strays = sorted(n for n in names if not n.startswith((f"{name}/", f"{dist_info}/")))
    if strays:
        raise DistError(f"{wheel.name} holds more than the package: {strays}")
    for needed in (f"{name}/__init__.py", f"{name}/py.typed", f"{dist_info}/licenses/LICENSE"):
        if needed not in names:
            raise DistError(f"{wheel.name} lacks {needed}")
    if metadata["Version"] != version:
        raise DistError(f"{wheel.name} says version {metadata['Version']}, pyproject {version}")
    if metadata["License-Expression"] != "MIT":
        raise DistError(f"{wheel.name} License-Expression: {metadata['License-Expression']}")
    modules = sum(n.endswith(".py") for n in names)
    return f"{modules} modules and py.typed, no tests; version {version}, license MIT"


def check_sdist(sdist: Path, name: str, version: str) -> str:
    top = f"{name}-{version}"
    with tarfile.open(sdist) as archive:
        names = {member.name.removeprefix(f"{top}/") for member in archive.getmembers()}
    carried = source_files()
    missing = sorted(set(carried) - names) + [f for f in SDIST_FILES if f not in names]
    if missing:
        raise DistError(f"{sdist.name} lacks {missing} (MANIFEST.in says what goes in)")
    counts = ", ".join(
        f"{folder}/ ({sum(f.startswith(folder + '/') for f in carried)} files)"
        for folder in SOURCE_FOLDERS
    )
    return f"{counts}, README.md, CHANGELOG.md, LICENSE"


def main() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    name, version = project["name"], project["version"]
    with tempfile.TemporaryDirectory(prefix="actorhttp-dist-") as work:
        # Built from a copy: setuptools would otherwise reuse the tree's egg-info, whose
        # stale SOURCES.txt puts files in the sdist that MANIFEST.in no longer asks for.
        source, out = Path(work, "source"), Path(work, "out")
        shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
        run("build", "--no-isolation", "--outdir", str(out), str(source), cwd=out.parent)
        (sdist,) = out.glob("*.tar.gz")
        (wheel,) = out.glob("*.whl")
        for built in (sdist, wheel):
            print(f"dist: built {built.name} ({built.stat().st_size // 1024} KiB)")
        checked = run("twine", "--no-color", "check", "--strict", str(sdist), str(wheel), cwd=out)
        for line in checked.replace(f"{out}/", "").splitlines():
            print(f"dist: twine check --strict: {line.strip()}")
        print(f"dist: wheel: {check_wheel(wheel, name, version)}")
        print(f"dist: sdist: {check_sdist(sdist, name, version)}")


if __name__ == "__main__":
    try:
        main()
    except DistError as error:
        sys.exit(f"dist: FAILED: {error}")
