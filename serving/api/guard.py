"""ASGI middleware that keeps browsers and confused clients from writing: the write routes
take JSON only, a request from another site is refused, and an open service (no token)
answers only to its own host names.

Why: a web page open in a local browser may send ``POST`` requests to ``127.0.0.1`` (a form
posts ``text/plain`` or ``multipart/form-data`` without a CORS preflight), and a DNS name
rebound to 127.0.0.1 reaches the service under a foreign ``Host``. JSON only (415 otherwise)
closes the first; the ``Origin`` / ``Sec-Fetch-Site`` check refuses what a browser marks as
cross-site, the page's cookie included; the ``Host`` check closes the second.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse

from experiments.config import load_config
from serving.api.auth import PAGE_LOGIN, PROTECTED_PATHS, AuthConfigError, is_loopback, load_token

JSON_ROUTES = PROTECTED_PATHS  # every write route takes a JSON body (or none)
FORM_ROUTES = (PAGE_LOGIN,)  # the sign-in form: a browser posts it, from the page itself
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class RequestGuard:
    """415 for a write without a JSON body, 403 for a write a browser marks as cross-site,
    400 for a ``Host`` the service does not answer to."""

    def __init__(self, app: Any) -> None:
        self.app = app
        config = load_config()
        try:
            open_service = load_token(config) is None
        except AuthConfigError:
            open_service = False  # the auth middleware refuses everything and says why
        configured = list(config.serving.allowed_hosts)
        if config.serving.host not in WILDCARD_HOSTS:
            configured.append(config.serving.host)
        # An open service answers to loopback names only (and those configured); with a
        # token, any Host unless serving.allowed_hosts narrows it (a gateway names itself).
        self.hosts = {h.lower() for h in configured} if (open_service or configured) else None
        self.open_service = open_service

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        refusal = self._host(headers) or (
            self._write(scope, headers) if scope["method"] == "POST" else None
        )
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _host(self, headers: dict[bytes, bytes]) -> JSONResponse | None:
        if self.hosts is None:
            return None
        host = _host_name(headers.get(b"host", b"").decode("latin-1"))
        if host in self.hosts or (self.open_service and is_loopback(host)):
            return None
        return _refuse(400, "unknown Host: this service answers to its own host names only")

    def _write(self, scope: dict, headers: dict[bytes, bytes]) -> JSONResponse | None:
        path = scope["path"]
        if path not in JSON_ROUTES and path not in FORM_ROUTES:
            return None
        if _cross_site(headers):
            return _refuse(403, "cross-site request refused: post from the service's own page")
        if path in FORM_ROUTES:
            return None
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        empty = headers.get(b"content-length", b"0") == b"0"
        if kind == b"application/json" or (not kind and empty):
            return None
        return _refuse(415, "send the body as JSON (Content-Type: application/json)")


def _host_name(host: str) -> str:
    """The name of a ``Host`` header, without its port (``[::1]:3000`` -> ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _cross_site(headers: dict[bytes, bytes]) -> bool:
    """Whether a browser marked the request as coming from another site: ``Sec-Fetch-Site``
    when it sends one, else an ``Origin`` whose host differs from ``Host`` (a request
    without either comes from no browser: the CRM's client, curl)."""
    fetch_site = headers.get(b"sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.lower() not in (b"same-origin", b"none")
    origin = headers.get(b"origin")
    if origin is None:
        return False
    netloc = urlsplit(origin.decode("latin-1")).netloc.lower()
    return netloc != headers.get(b"host", b"").decode("latin-1").lower()


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
