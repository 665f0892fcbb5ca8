"""The one-shot reply (``messages.Reply``/``ReplyReceiver``), one transition at a time."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from actorhttp import Response, StreamResponse
from actorhttp.messages import Reply, ReplyError, ReplyReceiver, open_reply


async def receive_later(
    receiver: ReplyReceiver, into: list[StreamResponse | BaseException]
) -> None:
    try:
        into.append(await receiver.receive())
    except (trio.EndOfChannel, trio.ClosedResourceError) as exc:
        into.append(exc)


def parked(reply: Reply) -> bool:
    return reply._waiter is not None


async def test_send_wakes_a_parked_receiver() -> None:
    reply, receiver = open_reply()
    got: list[StreamResponse | BaseException] = []
    response = Response(text="hi")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive_later, receiver, got)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []  # parked until answered
        await reply.send(response)
    assert got == [response]
    assert reply.answered
    assert repr(reply) == "<Reply answered>"


async def test_send_nowait_before_anyone_waits() -> None:
    reply, receiver = open_reply()
    response = Response(text="early")
    reply.send_nowait(response)
    assert await receiver.receive() is response


async def test_send_hands_the_response_over() -> None:
    reply, _receiver = open_reply()
    response = Response(text="x")
    response.headers["X-Before"] = "1"
    await reply.send(response)
    assert response.prepared
    assert response.headers.frozen
    with pytest.raises(RuntimeError, match="after the headers have been sent"):
        response.headers["X-After"] = "1"
    with pytest.raises(RuntimeError, match="after the headers have been sent"):
        response.text = "changed"


async def test_second_answer_is_a_reply_error_naming_both() -> None:
    reply, receiver = open_reply()
    first, second = Response(text="first", status=201), Response(text="second", status=202)
    await reply.send(first)
    with pytest.raises(ReplyError) as caught:
        await reply.send(second)
    message = str(caught.value)
    assert "201" in message
    assert "202" in message
    assert isinstance(caught.value, RuntimeError)
    assert not second.prepared  # the refused response is still the sender's
    second.text = "still mine"
    with pytest.raises(ReplyError):
        reply.send_nowait(second)
    assert await receiver.receive() is first


@pytest.mark.parametrize("how", ["close", "aclose", "with", "async with"])
async def test_closed_unanswered_is_end_of_channel_at_the_receiver(how: str) -> None:
    reply, receiver = open_reply()
    got: list[StreamResponse | BaseException] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive_later, receiver, got)
        await trio.testing.wait_all_tasks_blocked()
        if how == "close":
            reply.close()
        elif how == "aclose":
            await reply.aclose()
        elif how == "with":
            with reply as same:
                assert same is reply
        else:
            async with reply as same:
                assert same is reply
    assert len(got) == 1
    assert type(got[0]) is trio.EndOfChannel
    assert not reply.answered
    assert repr(reply) == "<Reply closed>"
    with pytest.raises(trio.ClosedResourceError):
        reply.send_nowait(Response())


async def test_closing_after_the_answer_changes_nothing() -> None:
    reply, receiver = open_reply()
    response = Response(text="kept")
    async with reply:
        await reply.send(response)
    reply.close()
    assert reply.answered
    assert await receiver.receive() is response


async def test_closed_before_anyone_waits() -> None:
    reply, receiver = open_reply()
    reply.close()
    with pytest.raises(trio.EndOfChannel):
        await receiver.receive()


async def test_receiver_closed_first_breaks_the_sender() -> None:
    reply, receiver = open_reply()
    with receiver:
        pass
    response = Response(text="too late")
    with pytest.raises(trio.BrokenResourceError, match="nobody waits"):
        await reply.send(response)
    assert not response.prepared  # not handed over: nobody took it
    assert repr(reply) == "<Reply abandoned>"
    with pytest.raises(trio.ClosedResourceError):
        await receiver.receive()


async def test_receiver_closed_after_an_answer_keeps_it() -> None:
    reply, receiver = open_reply()
    response = Response()
    reply.send_nowait(response)
    receiver.close()
    assert await receiver.receive() is response


async def test_cancelled_waiter_leaves_nothing_parked() -> None:
    reply, receiver = open_reply()
    with trio.CancelScope() as scope:
        scope.cancel()
        await receiver.receive()
    assert scope.cancelled_caught
    # Cancelled while actually parked, not only at the first checkpoint:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiver.receive)
        await trio.testing.wait_all_tasks_blocked()
        assert parked(reply)
        nursery.cancel_scope.cancel()
    assert not parked(reply)
    # The answer still works: nothing is rescheduled, nobody crashes, a new wait gets it.
    response = Response(text="after")
    await reply.send(response)
    assert await receiver.receive() is response


async def test_a_second_waiter_is_busy() -> None:
    reply, receiver = open_reply()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiver.receive)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.BusyResourceError):
            await receiver.receive()
        reply.send_nowait(Response())


async def test_cancelled_sender_sends_nothing() -> None:
    reply, receiver = open_reply()
    response = Response()
    with trio.CancelScope() as scope:
        scope.cancel()
        await reply.send(response)
    assert scope.cancelled_caught
    assert not reply.answered
    assert not response.prepared
    reply.close()
    with pytest.raises(trio.EndOfChannel):
        await receiver.receive()


@pytest.mark.parametrize("thing", ["text", b"bytes", None, 200, {"status": 200}])
async def test_a_reply_carries_only_responses(thing: object) -> None:
    reply, _receiver = open_reply()
    with pytest.raises(TypeError, match="StreamResponse"):
        reply.send_nowait(thing)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="StreamResponse"):
        await reply.send(thing)  # type: ignore[arg-type]
    assert not reply.answered
    reply.send_nowait(StreamResponse(status=204))  # still open for a real answer
    assert reply.answered


def test_open_reply_pairs_a_fresh_reply() -> None:
    reply, receiver = open_reply()
    assert isinstance(reply, Reply)
    assert isinstance(receiver, ReplyReceiver)
    other, _ = open_reply()
    assert other is not reply
    assert repr(reply) == "<Reply open>"
    assert not reply.answered


async def test_on_answer_runs_at_the_hand_over_before_the_receiver_wakes() -> None:
    reply, receiver = open_reply()
    seen: list[tuple[StreamResponse, bool, bool]] = []
    got: list[StreamResponse | BaseException] = []
    receiver.on_answer(lambda response: seen.append((response, response.prepared, bool(got))))
    response = Response(text="hi")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive_later, receiver, got)
        await trio.testing.wait_all_tasks_blocked()
        reply.send_nowait(response)
        assert seen == [(response, True, False)]  # frozen, and the receiver not yet woken
    assert got == [response]
    with pytest.raises(ReplyError):
        reply.send_nowait(Response(text="again"))
    assert len(seen) == 1  # once


@pytest.mark.parametrize("how", ["closed", "abandoned"])
async def test_on_answer_never_runs_without_an_answer(how: str) -> None:
    reply, receiver = open_reply()
    seen: list[StreamResponse] = []
    receiver.on_answer(seen.append)
    if how == "closed":
        reply.close()
        with pytest.raises(trio.EndOfChannel):
            await receiver.receive()
    else:
        receiver.close()
        with pytest.raises(trio.BrokenResourceError):
            reply.send_nowait(Response(text="late"))
    assert seen == []
