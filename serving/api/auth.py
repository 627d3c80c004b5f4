"""Bearer-token auth for the scoring routes, and the rule that an unauthenticated service
stays on loopback.

A token that is configured but blank is a mistake, never "no auth": the protected routes
then answer 503 until it is fixed (fail closed), and ``radar serve`` refuses to start.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any

from starlette.responses import HTMLResponse, JSONResponse

from data.templates import render
from experiments.config import Environment, RadarConfig, load_config

log = logging.getLogger("complaint_radar.auth")

TOKEN_ENV = "RADAR_API_TOKEN"
PROTECTED_PATHS = ("/score", "/reload", "/events", "/outcomes")
METRICS_PATH = "/metrics"  # behind the token when there is one
PAGE_PATH = "/list"  # the outreach page: a person signs in with the token (a cookie)
PAGE_LOGIN = "/list/login"
TOKEN_COOKIE = "radar_token"


class AuthConfigError(ValueError):
    """The token is configured but unusable, or the service would be exposed without one."""


def load_token(config: RadarConfig) -> bytes | None:
    """The bearer token from ``serving.token_file`` or ``$RADAR_API_TOKEN``; None: no auth."""
    path = config.serving.token_file
    if path is not None:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise AuthConfigError(f"serving.token_file {path} cannot be read: {exc}") from None
        if not token:
            raise AuthConfigError(f"serving.token_file {path} is empty")
        return token.encode()
    token = Environment().radar_api_token
    if token is None:
        return None
    token = token.get_secret_value().strip()
    if not token:
        raise AuthConfigError(
            f"${TOKEN_ENV} is set but blank: set a token, or unset it to serve without auth on loopback"
        )
    return token.encode()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(config: RadarConfig, host: str) -> None:
    """Refuse to serve beyond loopback without a token, unless explicitly allowed."""
    token = load_token(config)
    if token is None and not is_loopback(host) and not config.serving.allow_unauthenticated:
        raise AuthConfigError(
            f"refusing to serve on {host} without a token: set ${TOKEN_ENV} or serving.token_file, "
            "or set serving.allow_unauthenticated: true if a gateway in front authenticates"
        )


class BearerAuth:
    """ASGI middleware: scoring routes need ``Authorization: Bearer <token>`` when one is set.

    Health, readiness and docs stay open; ``/metrics`` needs the token too when there is one
    (a scraper sends it as a bearer token). The comparison is constant-time.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.problem: str | None = None
        try:
            self.token = load_token(load_config())
        except AuthConfigError as exc:
            self.token, self.problem = None, str(exc)
            log.error("scoring routes closed: %s", exc)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            page = (path == PAGE_PATH or path.startswith(PAGE_PATH + "/")) and path != PAGE_LOGIN
            metrics = path == METRICS_PATH and (self.token is not None or self.problem is not None)
            if path in PROTECTED_PATHS or page or metrics:
                refusal = self._refusal(dict(scope["headers"]))
                if refusal is not None:
                    if page and refusal.status_code == 401:
                        refusal = HTMLResponse(sign_in_page(LOGIN_ASK), 401)
                    await refusal(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _refusal(self, headers: dict[bytes, bytes]) -> JSONResponse | None:
        if self.problem is not None:
            return JSONResponse({"error": f"auth misconfigured: {self.problem}"}, status_code=503)
        if self.token is None:
            return None
        scheme, _, supplied = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(supplied.strip(), self.token):
            return None
        # The page's own requests carry the token as a same-site, script-proof cookie (parsed
        # only when there is no bearer header: API calls never pay for it).
        cookie = _cookie(headers)
        if cookie is not None and hmac.compare_digest(cookie, self.token):
            return None
        return JSONResponse(
            {"error": "missing or invalid bearer token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )


LOGIN_ASK = "The outreach list needs the service's token."
WRONG_TOKEN = "That token is not the service's."


def sign_in_page(message: str) -> str:
    """The page that asks a person for the service's token (kept then in a cookie)."""
    return render(__file__, "login.html", message=message)


def _cookie(headers: dict[bytes, bytes]) -> bytes | None:
    """The token cookie of a request, if any."""
    jar = SimpleCookie()
    try:
        jar.load(headers.get(b"cookie", b"").decode("latin-1"))
    except CookieError:
        return None
    morsel = jar.get(TOKEN_COOKIE)
    return morsel.value.encode() if morsel is not None else None
