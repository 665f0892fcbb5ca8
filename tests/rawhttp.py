"""Raw loopback sockets for tests that send what httpx never would."""

from __future__ import annotations

import trio

MAX_RESPONSE = 1 << 20


async def exchange(port: int, data: bytes, *, patience: float = 5.0) -> bytes:
    """Send ``data`` to 127.0.0.1:``port`` and read until the server closes (or ``patience``)."""
    received, _ = await exchange_until_closed(port, data, patience=patience)
    return received


async def exchange_until_closed(
    port: int, data: bytes, *, patience: float = 5.0, half_close: bool = False
) -> tuple[bytes, bool]:
    """Like :func:`exchange`, and whether the server closed the connection in time.

    With ``half_close`` the client shuts its sending side after ``data``, so
    a server sees a truncated request as truncated rather than waiting.
    """
    received = bytearray()
    closed = False
    with trio.move_on_after(patience):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            try:
                await stream.send_all(data)
                if half_close:
                    await stream.send_eof()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the server may refuse before reading it all
            try:
                while len(received) < MAX_RESPONSE and (chunk := await stream.receive_some()):
                    received += chunk
            except trio.BrokenResourceError:
                pass  # a reset after the answer: what was read still counts
            closed = True
    return bytes(received), closed


def status_of(response: bytes) -> int:
    """The status code of the first response in ``response`` (0 when there is none)."""
    line = response.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[0].startswith(b"HTTP/") else 0


def responses_in(data: bytes) -> int:
    return data.count(b"HTTP/1.1 ")


async def upload(
    port: int, head: bytes, chunks: list[bytes], *, patience: float = 5.0, pause: float = 0.01
) -> bytes:
    """Send ``head`` then ``chunks`` one by one while reading the answer concurrently.

    Stops sending once the server answers or breaks the connection, as a
    real client does when a server refuses an upload early.
    """
    received = bytearray()
    with trio.move_on_after(patience):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream, trio.open_nursery() as nursery:

            async def send() -> None:
                try:
                    await stream.send_all(head)
                    for chunk in chunks:
                        await stream.send_all(chunk)
                        await trio.sleep(pause)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass

            nursery.start_soon(send)
            try:
                while len(received) < MAX_RESPONSE and (chunk := await stream.receive_some()):
                    received += chunk
            except trio.BrokenResourceError:
                pass
            nursery.cancel_scope.cancel()
    return bytes(received)
