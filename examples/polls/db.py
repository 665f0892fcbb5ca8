"""The polls' tables in SQLite, each query run in a worker thread (``trio.to_thread``).

sqlite3 blocks, so every call runs in a thread of trio's pool with a
connection of its own (SQLite connections belong to the thread that made
them); a vote is one ``UPDATE``, atomic in SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import trio

from actorhttp import web

from .typedefs import config_key

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS question (
    id INTEGER PRIMARY KEY,
    question_text VARCHAR(200) NOT NULL,
    pub_date DATE NOT NULL
);
CREATE TABLE IF NOT EXISTS choice (
    id INTEGER PRIMARY KEY,
    choice_text VARCHAR(200) NOT NULL,
    votes INTEGER NOT NULL DEFAULT 0,
    question_id INTEGER NOT NULL REFERENCES question (id) ON DELETE CASCADE
);
"""


class RecordNotFound(Exception):
    """Requested record in database was not found"""


@dataclass(frozen=True, slots=True)
class Question:
    id: int
    question_text: str
    pub_date: date


@dataclass(frozen=True, slots=True)
class Choice:
    id: int
    choice_text: str
    votes: int
    question_id: int


class Database:
    """The SQLite file at ``path``; every method runs its query in a worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(connection)`` in a worker thread, committed if it returns."""

        def in_thread() -> T:
            with closing(sqlite3.connect(self.path)) as connection:
                connection.execute("PRAGMA foreign_keys = ON")
                with connection:  # commits, or rolls back on an exception
                    return work(connection)

        return await trio.to_thread.run_sync(in_thread)

    async def create_tables(self) -> None:
        await self.run(lambda connection: connection.executescript(SCHEMA))

    async def sample_data(self) -> None:
        """The original's sample poll, if there is no question yet."""

        def insert(connection: sqlite3.Connection) -> None:
            if connection.execute("SELECT 1 FROM question").fetchone():
                return
            cursor = connection.execute(
                "INSERT INTO question (question_text, pub_date) VALUES (?, ?)",
                ("What's new?", date(2015, 12, 15).isoformat()),
            )
            connection.executemany(
                "INSERT INTO choice (choice_text, votes, question_id) VALUES (?, 0, ?)",
                [
                    (text, cursor.lastrowid)
                    for text in ("Not much", "The sky", "Just hacking again")
                ],
            )

        await self.run(insert)

    async def questions(self) -> list[Question]:
        rows = await self.run(
            lambda c: c.execute("SELECT id, question_text, pub_date FROM question").fetchall()
        )
        return [Question(id, text, date.fromisoformat(day)) for id, text, day in rows]

    async def choices_of(self, question_id: int) -> list[Choice]:
        rows = await self.run(
            lambda c: c.execute(
                "SELECT id, choice_text, votes, question_id FROM choice "
                "WHERE question_id = ? ORDER BY id",
                (question_id,),
            ).fetchall()
        )
        return [Choice(*row) for row in rows]


db_key = web.AppKey("db_key", Database)


async def sqlite_context(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: the database, with its tables (and sample data when new)."""
    database = Database(app[config_key].db)
    await database.create_tables()
    await database.sample_data()
    app[db_key] = database
    yield
    # Nothing stays open between queries: each closed its own connection.


async def get_question(database: Database, question_id: int) -> tuple[Question, list[Choice]]:
    """The question and its choices; ``RecordNotFound`` if there is no such question."""
    row = await database.run(
        lambda c: c.execute(
            "SELECT id, question_text, pub_date FROM question WHERE id = ?", (question_id,)
        ).fetchone()
    )
    if row is None:
        raise RecordNotFound(f"Question with id: {question_id} does not exists")
    question = Question(row[0], row[1], date.fromisoformat(row[2]))
    return question, await database.choices_of(question_id)


async def vote(app: web.Application, question_id: int, choice_id: int) -> None:
    """One more vote for the choice; ``RecordNotFound`` unless it is one of the question's."""
    updated = await app[db_key].run(
        lambda c: (
            c.execute(
                "UPDATE choice SET votes = votes + 1 WHERE id = ? AND question_id = ?",
                (choice_id, question_id),
            ).rowcount
        )
    )
    if not updated:
        raise RecordNotFound(
            f"Question with id: {question_id} or choice id: {choice_id} does not exists"
        )
