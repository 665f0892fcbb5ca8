"""The router actor on its own: fed messages directly, no network."""

from __future__ import annotations

import pytest
import trio

import actorhttp._router
import actorhttp._routing
from actorhttp import Response, StreamResponse, middleware
from actorhttp._router import Router, open_router_mailbox
from actorhttp._routing import UrlDispatcher
from actorhttp.messages import AddRoute, CancelRequests, ReplyReceiver, Request, Target, open_reply
from actorhttp.testing import make_mocked_request

TIMEOUT = 5


def make_request(path: str, method: str = "GET") -> tuple[Request, ReplyReceiver]:
    reply, receiver = open_reply()
    return make_mocked_request(method, path, reply=reply), receiver


async def text_of(receiver: ReplyReceiver) -> str | None:
    response = await receiver.receive()
    assert isinstance(response, Response)
    return response.text


async def ok(request: Request) -> StreamResponse:
    return Response(text="ok")


async def test_middleware_chain_is_composed_once_per_route(monkeypatch: pytest.MonkeyPatch) -> None:
    composed: list[object] = []
    real_compose = actorhttp._routing.compose_layers

    async def counting_compose(layers: object, handler: object) -> object:
        composed.append(handler)
        return await real_compose(layers, handler)  # type: ignore[arg-type]

    monkeypatch.setattr(actorhttp._router, "compose_layers", counting_compose)

    @middleware
    async def passthrough(request: Request, handler: object) -> StreamResponse:
        return await handler(request)  # type: ignore[operator, no-any-return]

    routes = UrlDispatcher[Target]()
    routes.add_get("/a", ok)
    router = Router(routes, middlewares=[passthrough])
    before = len(composed)
    for _ in range(5):
        request, reply = make_request("/a")
        await router.respond(request)
        assert await text_of(reply) == "ok"
    assert len(composed) - before == 1


async def test_cancel_requests_cancels_handlers_in_flight() -> None:
    entered = trio.Event()

    async def forever(request: Request) -> StreamResponse:
        entered.set()
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    routes = UrlDispatcher[Target]()
    routes.add_get("/forever", forever)
    router = Router(routes)
    inbox_send, inbox_receive = open_router_mailbox(4)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(router.run, inbox_receive)
            request, reply = make_request("/forever")
            async with inbox_send:
                await inbox_send.send(request)
                await entered.wait()
                await inbox_send.send(CancelRequests())
                with pytest.raises(trio.EndOfChannel):
                    await reply.receive()  # closed with no response: the transport's 500


async def test_add_route_is_all_or_nothing() -> None:
    routes = UrlDispatcher[Target]()
    routes.add_post("/x", ok)
    router = Router(routes)
    with pytest.raises(RuntimeError, match=r"\['POST'\]"):
        router.add_route(AddRoute(["GET", "POST"], "/x", ok))
    assert routes.resources()[0].allowed_methods == {"POST"}  # GET was not added either


async def test_add_route_with_a_bad_method_adds_nothing() -> None:
    routes = UrlDispatcher[Target]()
    router = Router(routes)
    with pytest.raises(ValueError, match="not an HTTP method"):
        router.add_route(AddRoute(["GET", "BAD METHOD"], "/y", ok))
    assert all(not resource.allowed_methods for resource in routes.resources())
