"""aiohttp-demos' polls ``tests/conftest.py``, ported: a fresh SQLite file per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from polls.db import Database
from polls.main import init_app

from actorhttp.test_utils import TestClient


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "polls_test.sqlite3"


@pytest.fixture
async def cli(aiohttp_client: Any, db: Path) -> TestClient:
    app = await init_app(["--db", str(db)])
    client: TestClient = await aiohttp_client(app)
    return client


@pytest.fixture
async def tables_and_data(db: Path) -> None:
    database = Database(db)
    await database.create_tables()
    await database.sample_data()
