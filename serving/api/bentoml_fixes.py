"""Fixes to BentoML's HTTP layer (pinned bentoml 1.4.39), installed by the service.

1. Its ``TimeoutMiddleware`` schedules a timer per request (``loop.call_later(timeout)``)
   and never cancels it. Each pending timer keeps the request's future and context, and
   with them its OpenTelemetry span, alive for the whole timeout (60 s): at a few thousand
   requests a second that is millions of live objects, and every full garbage collection
   walks them all. Measured on a bare BentoML service: gen-2 collections of 55 -> 190 ms,
   growing with the request count, behind a /livez p99 of 200-400 ms under wrk. The
   replacement below is the same middleware with its timer cancelled when the response
   starts or the request ends (and a request whose handler fails before responding no
   longer waits for the timeout).
2. It logs every rejected (4xx) request as an ERROR with a traceback; here that becomes
   one WARNING line naming the fields (never their values).
3. Its request metrics label each request by its raw path: every junk URL becomes a label
   for ever (20,000 junk GETs grew the worker by 700 MB and made ``/metrics`` 99 MB), and an
   id put in a URL shows on ``/metrics``. Here the label is the route, and every path that
   is no route is ``other``.
4. A request that fails its schema gets a 400 whose ``detail`` is a list of objects, where the
   OpenAPI document it publishes says a string: here it is one string, ``field: problem``
   per error (values never included).
5. With several workers, its workers share one listening socket, and on Linux one worker
   takes every keep-alive connection (8 of 8 connections on one worker, the other idle).
   Here each worker listens on a socket of its own on the same port (``SO_REUSEPORT``, which
   circus, BentoML's process manager, supports, though only for a socket named in a worker's
   executable, where BentoML names it in the arguments) and the kernel spreads connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

from bentoml.exceptions import BentoMLException
from pydantic import ValidationError
from starlette.responses import JSONResponse

from experiments.config import Environment
from serving.api.auth import PAGE_PATH, PROTECTED_PATHS

BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"
# Paths that are routes: the service's, the page's, and BentoML's own.
ROUTES = frozenset(
    (*PROTECTED_PATHS, "/", "/livez", "/readyz", "/healthz", "/metrics", "/docs.json", "/docs")
)
OTHER_PATHS = "other"
_REAL_PATH = "radar.path"  # the request's own path while the metrics see its route
STOCK_TIMEOUT_ENV = "RADAR_BENTOML_TIMEOUT"


class RequestTimeout:
    """A request that has not started its response within ``timeout`` seconds gets a 504."""

    def __init__(self, app: Any, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        started = loop.create_future()

        def start() -> None:
            if not started.done():
                started.set_result(None)

        async def sending(message: dict) -> None:
            start()
            await send(message)

        timer = loop.call_later(self.timeout, _expire, started)
        handler = asyncio.ensure_future(self.app(scope, receive, sending))
        handler.add_done_callback(lambda _: start())
        try:
            await started
        except TimeoutError:
            if handler.cancel():
                message = f"Not able to process the request in {self.timeout} seconds"
                await JSONResponse({"error": message}, status_code=504)(scope, receive, send)
                return
        finally:
            timer.cancel()  # the fix: nothing of this request outlives it
        await handler


def _expire(started: asyncio.Future) -> None:
    if not started.done():
        started.set_exception(TimeoutError())


class ClientErrorsAreQuiet(logging.Filter):
    """Turn BentoML's exception records for 4xx requests into one-line warnings.

    The line names the fields and problems, never the values (posted histories are
    customer data).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ValidationError):
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors(include_input=False, include_context=False)[:5]
            )
            detail = f"{exc.error_count()} invalid field(s): {problems}"
        elif isinstance(exc, BentoMLException) and exc.error_code.value < 500:
            detail = f"{exc.error_code.value} {type(exc).__name__}"
        else:
            return True
        path = record.args[0] if record.args else "request"
        record.msg, record.args = "%s rejected: %s", (path, detail)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        return True


def route_of(path: str) -> str:
    """The metrics label of a request path: its route, or ``other``."""
    if path in ROUTES:
        return path
    if path == PAGE_PATH or path.startswith(PAGE_PATH + "/"):
        return PAGE_PATH
    return OTHER_PATHS


def _bounded_metrics(stock: type) -> type:
    """BentoML's traffic-metrics middleware, shown the route instead of the raw path."""

    class RouteLabelledMetrics(stock):
        def __init__(self, app: Any, **kwargs: Any) -> None:
            super().__init__(_RealPath(app), **kwargs)

        async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] in ("http", "websocket"):
                route = route_of(scope["path"])
                if route != scope["path"]:
                    scope = {**scope, "path": route, _REAL_PATH: scope["path"]}
            await super().__call__(scope, receive, send)

    return RouteLabelledMetrics


class _RealPath:
    """Gives the application behind the metrics the request's own path back."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        real = scope.get(_REAL_PATH)
        if real is not None:
            scope = {k: v for k, v in scope.items() if k != _REAL_PATH} | {"path": real}
        await self.app(scope, receive, send)


def _detail_as_text(endpoint: Any) -> Any:
    """BentoML's API endpoint, its 400 bodies' ``detail`` made the string it documents."""

    async def answer(self: Any, name: str, request: Any) -> Any:
        response = await endpoint(self, name, request)
        if response.status_code != 400 or not isinstance(response, JSONResponse):
            return response
        body = json.loads(response.body)
        if isinstance(body, dict) and isinstance(body.get("detail"), list):
            body["detail"] = "; ".join(
                f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}"
                for e in body["detail"]
                if isinstance(e, dict)
            )
            response.body = response.render(body)
            response.headers["content-length"] = str(len(response.body))
        return response

    answer.radar_fixed = True
    return answer


SERVICE_NAME = "complaint_radar"
API_SOCKET = "_bento_api_server"  # the name BentoML gives its HTTP socket


def _service_workers() -> int:
    from bentoml._internal.configuration.containers import BentoMLContainer

    workers = BentoMLContainer.config.services.get().get(SERVICE_NAME, {}).get("workers")
    return workers if isinstance(workers, int) else 1


def _socket_per_worker(stock_init: Any) -> Any:
    """CircusSocket.__init__ that makes the HTTP socket one per worker when there are several."""

    def __init__(self: Any, name: str = "", *args: Any, **kwargs: Any) -> None:
        if name == API_SOCKET and _service_workers() > 1:
            kwargs["so_reuseport"] = True
        stock_init(self, name, *args, **kwargs)
        if self.so_reuseport and not hasattr(self, "_cfg"):
            # circus re-creates the socket in each worker from this description
            family = "AF_INET6" if self.family == socket.AF_INET6 else "AF_INET"
            self._cfg = {"name": name, "host": self.host, "port": self.port,
                         "family": family, "backlog": self.backlog, "so_reuseport": True}  # fmt: skip

    __init__.radar_fixed = True
    return __init__


def _sockets_of_worker(process: Any) -> dict | None:
    """circus's ``Process._get_sockets_fds`` looking for the socket in the arguments too: a
    ``SO_REUSEPORT`` socket is made and bound anew for each worker that names it."""
    from circus.sockets import CircusSocket

    watcher = process.watcher
    if watcher is None or watcher.sockets is None:
        return None
    fds = watcher._get_sockets_fds()
    args = watcher.args if isinstance(watcher.args, str) else " ".join(watcher.args or ())
    command = f"{watcher.cmd} {args}"
    for name, stock in watcher.sockets.items():
        if stock.so_reuseport and f"circus.sockets.{name}" in command:
            own = CircusSocket.load_from_config(stock._cfg)
            own.bind_and_listen()
            fds[name] = own.fileno()
            process._sockets.append(own)  # kept open until the worker is forked
    return fds


def install() -> None:
    """Put the fixes in place (idempotent).

    ``RADAR_BENTOML_TIMEOUT=stock`` keeps BentoML's own timeout middleware: only for the
    benchmark that measures the difference in the same run.
    """
    from bentoml._internal.server.http import instruments, traffic

    if Environment().radar_bentoml_timeout != "stock":
        traffic.TimeoutMiddleware = RequestTimeout  # looked up when the app is built
    stock = instruments.RunnerTrafficMetricsMiddleware
    if not getattr(stock, "radar_bounded", False):
        bounded = _bounded_metrics(stock)
        bounded.radar_bounded = True
        instruments.RunnerTrafficMetricsMiddleware = bounded  # looked up when the app is built
    from _bentoml_impl.server.app import ServiceAppFactory

    if not getattr(ServiceAppFactory.api_endpoint_wrapper, "radar_fixed", False):
        ServiceAppFactory.api_endpoint_wrapper = _detail_as_text(
            ServiceAppFactory.api_endpoint_wrapper
        )
    from circus.process import Process
    from circus.sockets import CircusSocket

    if not getattr(CircusSocket.__init__, "radar_fixed", False):
        CircusSocket.__init__ = _socket_per_worker(CircusSocket.__init__)
        Process._get_sockets_fds = _sockets_of_worker
    logger = logging.getLogger(BENTOML_HTTP_LOGGER)
    if not any(isinstance(f, ClientErrorsAreQuiet) for f in logger.filters):
        logger.addFilter(ClientErrorsAreQuiet())
