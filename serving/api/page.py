"""The outreach page as the service serves it at ``/list``: the latest published list with a
form per row that records outcomes, and the sign-in that trades the service's token for a
same-site cookie. It reads the service's own configuration, token and outcome store (handed
over when the service starts), never a file per request."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import anyio
import pandas as pd
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from serving import publication
from serving.api.auth import TOKEN_COOKIE, WRONG_TOKEN, sign_in_page
from serving.outreach.outcomes import OutcomeStore, without_password
from serving.outreach.page import render_page

log = logging.getLogger("complaint_radar.page")


@dataclass(frozen=True)
class PageContext:
    """What the page needs of the service that mounts it."""

    lists_dir: Path
    token: bytes | None  # None: the service has no token (loopback only)
    outcomes: OutcomeStore | None


class OutreachPage:
    """The ASGI app mounted at ``/list`` (BentoML mounts it before the service exists: the
    service hands over its context with :meth:`attach` once it has started)."""

    def __init__(self) -> None:
        self.context: PageContext | None = None
        self.app = Starlette(
            routes=[
                Route("/", self.list_page, methods=["GET"]),
                Route("/login", self.login, methods=["POST"]),
            ]
        )

    def attach(self, context: PageContext) -> None:
        self.context = context

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        await self.app(scope, receive, send)

    async def list_page(self, request: Request) -> Response:
        if self.context is None:
            return HTMLResponse("<p>The service is starting.</p>", status_code=503)
        try:
            page = await anyio.to_thread.run_sync(self._render, self.context)
        except (OSError, ValueError, KeyError) as exc:
            return HTMLResponse(f"<p>No published list: {type(exc).__name__}</p>", status_code=503)
        return HTMLResponse(page)

    @staticmethod
    def _render(context: PageContext) -> str:
        _, folder = publication.latest_folder(context.lists_dir)
        risk_list = pd.read_parquet(folder / publication.LIST_PARQUET)
        meta = publication.read_meta(folder)
        outcomes = None
        if context.outcomes is not None:
            try:
                outcomes = context.outcomes.frame(date.fromisoformat(meta["scored_for"]))
            except Exception as exc:  # the list still shows; outcomes just are not marked
                log.warning("outreach page without recorded outcomes: %s", without_password(exc))
        return render_page(risk_list, meta, outcomes, interactive=True)

    async def login(self, request: Request) -> Response:
        """Exchange the service token for a same-site cookie, so the page can record outcomes."""
        token = self.context.token if self.context is not None else None
        supplied = str((await request.form()).get("token", "")).encode()
        if token is not None and not hmac.compare_digest(supplied, token):
            return HTMLResponse(sign_in_page(WRONG_TOKEN), status_code=401)
        response = RedirectResponse("./", status_code=303)
        if token is not None:
            response.set_cookie(
                TOKEN_COOKIE, supplied.decode(), httponly=True, samesite="strict", path="/"
            )
        return response


outreach_page = OutreachPage()
