"""aiohttp-demos' polls ``tests/test_integration.py``, ported (SQLite instead of PostgreSQL),
with tests of the error pages after it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from polls.db import db_key

from actorhttp.test_utils import TestClient


async def test_index(cli: TestClient, tables_and_data: None) -> None:
    async with cli.get("/") as response:
        assert response.status == 200
        assert "Main" in await response.text()
        assert "What&#39;s new?" in await response.text()  # autoescaped, as the original's


async def test_results(cli: TestClient, tables_and_data: None) -> None:
    async with cli.get("/poll/1/results") as response:
        assert response.status == 200
        assert "Just hacking again" in await response.text()


async def test_404_status(cli: TestClient, tables_and_data: None) -> None:
    async with cli.get("/no-such-route") as response:
        assert response.status == 404


async def test_vote(cli: TestClient, tables_and_data: None) -> None:
    question_id = 1
    choice_text = "Not much"

    database = cli.server.app[db_key]
    choices = await database.choices_of(question_id)
    not_much_choice = next(c for c in choices if c.choice_text == choice_text)
    votes_before = not_much_choice.votes

    async with cli.post(
        f"/poll/{question_id}/vote", data={"choice": not_much_choice.id}
    ) as response:
        assert response.status == 200
        assert f"{choice_text} -- {votes_before + 1} vote(s)" in await response.text()

    choices = await database.choices_of(question_id)
    votes_after = next(c for c in choices if c.choice_text == choice_text).votes
    assert votes_after == votes_before + 1


# -- beyond the original's tests ------------------------------------------------------------


async def test_the_poll_page_and_static_files(cli: TestClient, tables_and_data: None) -> None:
    page = await cli.get("/poll/1")
    text = await page.text()
    assert '<form action="/poll/1/vote" method="post">' in text
    assert 'href="/static/style.css"' in text
    css = await cli.get("/static/style.css")
    assert css.status == 200
    assert "color: green" in await css.text()


async def test_error_pages_are_the_templates(cli: TestClient, tables_and_data: None) -> None:
    missing = await cli.get("/poll/99")
    assert missing.status == 404
    assert "<h1>Page Not Found</h1>" in await missing.text()
    no_choice = await cli.post("/poll/1/vote", data={})
    assert no_choice.status == 400
    assert await no_choice.text() == "You have not specified choice value"
    wrong_choice = await cli.post("/poll/1/vote", data={"choice": "99"})
    assert wrong_choice.status == 404


async def test_a_failure_is_the_500_page_logged_through_request_protocol(
    cli: TestClient, tables_and_data: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cli.server.app[db_key].path = tmp_path / "no-such-folder" / "polls.sqlite3"
    with caplog.at_level(logging.ERROR, logger="actorhttp"):
        broken = await cli.get("/")
    assert broken.status == 500
    assert "<h1>Internal Server Error</h1>" in await broken.text()
    assert any(
        record.name == "actorhttp" and record.getMessage() == "Error handling request"
        for record in caplog.records
    )
