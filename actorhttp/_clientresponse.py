"""``ClientResponse``: an httpx response read whole, shown with aiohttp's client names.

What ``actorhttp.test_utils.TestClient`` answers with, so that tests written
for aiohttp's test client read responses the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from http.cookies import SimpleCookie
from types import TracebackType
from typing import Any, Self

import httpx
import trio
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

__all__ = ["ClientResponse"]


class ClientResponse:
    """A response as aiohttp's ``ClientResponse`` shows it, over an ``httpx.Response`` read whole.

    ``status``, ``reason``, ``method``, ``url`` (a ``yarl.URL``), ``headers``
    (a ``CIMultiDictProxy``, names as sent), ``cookies`` (the ``Set-Cookie``
    of this response, a ``SimpleCookie``), ``content_type``, ``charset``,
    ``content_length``, ``ok``; ``await read()``, ``await text()``,
    ``await json()``, ``raise_for_status()`` (httpx's ``HTTPStatusError``).
    ``httpx_response`` is the response underneath, for anything else.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.httpx_response = response
        self.status = response.status_code
        self.reason = response.reason_phrase
        self.method = response.request.method
        self.url = URL(str(response.url))
        self.headers = CIMultiDictProxy(
            CIMultiDict(
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in response.headers.raw
            )
        )

    @property
    def ok(self) -> bool:
        """True for a status below 400."""
        return self.status < 400

    @property
    def content_type(self) -> str:
        """The media type, lower case, without parameters; aiohttp's default if none."""
        value = self.headers.get("Content-Type", "application/octet-stream")
        return value.partition(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset of ``Content-Type``, or None."""
        return self.httpx_response.charset_encoding

    @property
    def content_length(self) -> int | None:
        """``Content-Length`` as an int, or None."""
        value = self.headers.get("Content-Length")
        return int(value) if value is not None else None

    @property
    def cookies(self) -> SimpleCookie:
        """The cookies this response set (its ``Set-Cookie`` headers)."""
        cookies = SimpleCookie()
        for value in self.headers.getall("Set-Cookie", ()):
            cookies.load(value)
        return cookies

    async def read(self) -> bytes:
        """The body (already read whole)."""
        await trio.lowlevel.checkpoint()
        return self.httpx_response.content

    async def text(self, encoding: str | None = None, errors: str = "strict") -> str:
        """The body decoded with ``encoding``, else the response's charset, else UTF-8."""
        body = await self.read()
        return body.decode(encoding or self.charset or "utf-8", errors)

    async def json(
        self,
        *,
        encoding: str | None = None,
        loads: Callable[[str], Any] = json.loads,
        content_type: str | None = "application/json",
    ) -> Any:
        """The body as JSON; ``ValueError`` if its type is not ``content_type`` (``None``: any)."""
        if content_type is not None and not _is_expected_type(self.content_type, content_type):
            raise ValueError(
                f"Attempt to decode JSON with unexpected mimetype: {self.content_type}"
            )
        text = await self.text(encoding)
        return loads(text) if text.strip() else None

    def raise_for_status(self) -> None:
        """httpx's ``HTTPStatusError`` for a 4xx or 5xx status; nothing otherwise."""
        self.httpx_response.raise_for_status()

    def release(self) -> None:
        """Nothing to release: the body was read whole (aiohttp's name, kept for ported code)."""

    def close(self) -> None:
        """Nothing to close: the connection went back to the pool once the body was read."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<ClientResponse({self.url}) [{self.status} {self.reason}]>"


_JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+?\+)?json")  # aiohttp's: application/*+json too


def _is_expected_type(actual: str, expected: str) -> bool:
    if expected == "application/json":
        return _JSON_TYPE.match(actual) is not None
    return expected in actual
