"""The pages: the list of polls, a poll's form, its results, and the vote."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2

from actorhttp import web

from . import db


@aiohttp_jinja2.template("index.html")
async def index(request: web.Request) -> dict[str, Any]:
    return {"questions": await request.app[db.db_key].questions()}


@aiohttp_jinja2.template("detail.html")
async def poll(request: web.Request) -> dict[str, Any]:
    return await _question_and_choices(request)


@aiohttp_jinja2.template("results.html")
async def results(request: web.Request) -> dict[str, Any]:
    return await _question_and_choices(request)


async def vote(request: web.Request) -> web.Response:
    question_id = _question_id(request)
    data = await request.post()
    try:
        choice_id = int(str(data["choice"]))
    except (KeyError, TypeError, ValueError) as e:
        raise web.HTTPBadRequest(text="You have not specified choice value") from e
    try:
        await db.vote(request.app, question_id, choice_id)
    except db.RecordNotFound as e:
        raise web.HTTPNotFound(text=str(e)) from e
    router = request.app.router
    url = router["results"].url_for(question_id=str(question_id))
    raise web.HTTPFound(location=url)


async def _question_and_choices(request: web.Request) -> dict[str, Any]:
    """The page's question and its choices; 404 when there is no such question."""
    try:
        question, choices = await db.get_question(request.app[db.db_key], _question_id(request))
    except db.RecordNotFound as e:
        raise web.HTTPNotFound(text=str(e)) from e
    return {"question": question, "choices": choices}


def _question_id(request: web.Request) -> int:
    # The original passed the text on to the database; a number is checked here instead.
    try:
        return int(request.match_info["question_id"])
    except ValueError as e:
        raise web.HTTPNotFound(text="Question ids are numbers") from e
