"""The request-timeout middleware that replaces BentoML's: nothing of a request outlives it,
a slow request still gets its 504, a failing handler fails at once."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import weakref

import pytest

from serving.api.bentoml_fixes import RequestTimeout

SPAN = contextvars.ContextVar("span")  # stands in for the tracing span set further out


class Span:
    pass


async def call(app, timeout: float) -> list[dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await RequestTimeout(app, timeout)({"type": "http", "path": "/x"}, receive, send)
    return sent


async def ok(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_nothing_of_a_finished_request_stays_alive():
    async def one_request() -> weakref.ref:
        span = Span()
        SPAN.set(span)  # as the tracing middleware does before ours runs
        await call(ok, timeout=60)
        return weakref.ref(span)

    async def main() -> object:
        ref = await asyncio.create_task(one_request())
        await asyncio.sleep(0)
        gc.collect()
        return ref()  # while the loop (and any timer it still holds) is alive

    assert asyncio.run(main()) is None


def test_a_request_that_never_responds_gets_a_504():
    async def slow(scope, receive, send) -> None:
        await asyncio.sleep(10)

    sent = asyncio.run(call(slow, timeout=0.05))
    assert sent[0]["status"] == 504


def test_a_failing_handler_fails_at_once_not_at_the_timeout():
    async def broken(scope, receive, send) -> None:
        raise RuntimeError("handler failed")

    async def main() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(RuntimeError, match="handler failed"):
            await call(broken, timeout=30)
        return loop.time() - started

    assert asyncio.run(main()) < 1.0
