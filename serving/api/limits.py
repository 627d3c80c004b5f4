"""ASGI middleware that refuses request bodies over a size limit (413) before they are read
into memory: a 50 MB body must not become a 1.5 GB worker."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from experiments.config import load_config


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """413 for a declared ``Content-Length`` over the limit; a body without one (chunked) is
    counted as it arrives and refused once it passes the limit."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.limit = load_config().serving.max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(scope, receive, send)
            return
        if declared is not None:  # the HTTP server enforces a declared length
            await self.app(scope, receive, send)
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await self._too_large(scope, receive, send)
                return
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope: dict, receive: Any, send: Any) -> None:
        response = JSONResponse(
            {
                "error": f"request body over the limit of {self.limit:,} bytes (serving.max_body_bytes)"
            },
            status_code=413,
        )
        await response(scope, receive, send)
