"""The settings: where the database is, and where to serve (the original read a YAML file)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class Config:
    """Where the SQLite file is (created with sample polls if new), and the address."""

    db: Path
    host: str = "127.0.0.1"
    port: int = 8080


def get_config(argv: list[str] | None = None) -> Config:
    """The settings from ``argv`` (unknown options ignored, as the original did)."""
    parser = argparse.ArgumentParser(description="aiohttp-demos' polls on actorhttp")
    parser.add_argument("--db", type=Path, default=Path("polls.sqlite3"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    options, _unknown = parser.parse_known_args(argv)
    return Config(db=options.db, host=options.host, port=options.port)
