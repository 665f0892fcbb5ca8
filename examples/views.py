"""Class-based views and a RouteTableDef, as aiohttp programs write them.

    python examples/views.py [--port 8080]

A small in-memory notes API: ``/notes`` (GET lists, POST adds) and
``/notes/{id}`` (GET, PUT, DELETE) are ``web.View`` classes, one method per
verb; a verb a view does not have is a 405 listing the ones it has.
"""

from __future__ import annotations

import argparse
import itertools

from actorhttp import web

routes = web.RouteTableDef()
NOTES = web.AppKey("notes", dict[int, str])
IDS = web.AppKey("ids", itertools.count)


@routes.view("/notes")
class Notes(web.View):
    async def get(self) -> web.Response:
        notes = self.request.app[NOTES]
        return web.json_response([{"id": i, "text": t} for i, t in sorted(notes.items())])

    async def post(self) -> web.Response:
        text = (await self.request.json()).get("text")
        if not isinstance(text, str) or not text:
            raise web.HTTPUnprocessableEntity(text="a note needs a non-empty text")
        note_id = next(self.request.app[IDS])
        self.request.app[NOTES][note_id] = text
        location = self.request.app.router["note"].url_for(id=str(note_id))
        return web.json_response(
            {"id": note_id, "text": text}, status=201, headers={"Location": str(location)}
        )


@routes.view("/notes/{id:\\d+}", name="note")
class Note(web.View):
    def _id(self) -> int:
        note_id = int(self.request.match_info["id"])
        if note_id not in self.request.app[NOTES]:
            raise web.HTTPNotFound(text=f"no note {note_id}")
        return note_id

    async def get(self) -> web.Response:
        note_id = self._id()
        return web.json_response({"id": note_id, "text": self.request.app[NOTES][note_id]})

    async def put(self) -> web.Response:
        note_id = self._id()
        self.request.app[NOTES][note_id] = (await self.request.json())["text"]
        return web.json_response({"id": note_id, "text": self.request.app[NOTES][note_id]})

    async def delete(self) -> web.Response:
        del self.request.app[NOTES][self._id()]
        return web.Response(status=204)


def make_app() -> web.Application:
    app = web.Application()
    app[NOTES] = {}
    app[IDS] = itertools.count(1)
    app.add_routes(routes)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port)
