"""aiohttp-apispec as its documentation shows it: schemas, docs, validation middleware."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apispec import (
    docs,
    request_schema,
    response_schema,
    setup_aiohttp_apispec,
    validation_middleware,
)
from marshmallow import Schema, fields


class RequestSchema(Schema):
    id = fields.Int(required=True)
    name = fields.Str(required=True)


class ResponseSchema(Schema):
    msg = fields.Str()
    data = fields.Dict()


@docs(tags=["mytag"], summary="Test method summary", description="Test method description")
@request_schema(RequestSchema())
@response_schema(ResponseSchema(), 200)
async def index(request: web.Request) -> web.Response:
    return web.json_response({"msg": "done", "data": request["data"]})


def make_app() -> web.Application:
    app = web.Application(middlewares=[validation_middleware])
    app.router.add_post("/v1/test", index)
    setup_aiohttp_apispec(
        app=app,
        title="My Documentation",
        version="v1",
        url="/api/docs/swagger.json",
        swagger_path="/api/docs",
    )
    return app
