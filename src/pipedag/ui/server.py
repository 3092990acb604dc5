"""The local web server of ``pipedag ui``: one page, its static files, and read-only JSON endpoints.

Starlette routes the requests and uvicorn serves them. Every endpoint opens the instance's
store read-only, answers, and closes it, so a run can take the database at any time. There
is no endpoint that runs SQL a request supplies: tables are previewed by name, the names
are checked against the metadata, quoted, and the paging values bound as parameters.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pipedag.errors import PipedagError
from pipedag.ui import source, views

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.flow import Flow
    from pipedag.store.base import SQLTableStore

STATIC = Path(__file__).parent / "static"
MAX_PREVIEW = 500


class UiError(PipedagError):
    """A request the page cannot answer (bad parameter, unknown run, task or table)."""


def _int(request: Request, name: str, default: int | None = None, low: int = 0, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise UiError(f"Query parameter {name!r} is required.")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UiError(f"Query parameter {name!r} must be a whole number, got {raw!r}.") from None
    return max(low, value if high is None else min(high, value))


def _text(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise UiError(f"Query parameter {name!r} is required.")
    return value


def create_app(config: ConfigContext, flow: Flow | None = None) -> Starlette:
    """The ASGI application showing ``config``'s instance (and ``flow``'s wiring when given).

    Args:
        config: The instance to show.
        flow: The flow whose graph to draw; without it the graph comes from the recorded runs.

    Returns:
        A Starlette application.
    """
    Reader = Callable[["SQLTableStore", source.Catalog, Request], Any]
    answers: dict[str, tuple[Any, Response]] = {}  # by request URL: the database signature it was read at

    def endpoint(read: Reader) -> Callable[[Request], Response]:
        def handle(request: Request) -> Response:
            key, seen = str(request.url), source.signature(config)
            if seen is not None and key in answers and answers[key][0] == seen:
                return answers[key][1]  # nothing was written since: no need to open the file
            try:
                with source.reading(config) as store:
                    response = JSONResponse(read(store, source.catalog(store), request))
                if len(answers) > 1000:
                    answers.clear()
                answers[key] = (seen, response)
                return response
            except source.StoreBusy as exc:
                return JSONResponse({"busy": True, "error": str(exc)}, status_code=503)
            except (UiError, KeyError) as exc:
                message = exc.args[0] if exc.args else str(exc)
                return JSONResponse({"error": message}, status_code=404 if isinstance(exc, KeyError) else 400)
            except PipedagError as exc:
                return JSONResponse({"error": str(exc)}, status_code=500)

        return handle

    def overview(store: SQLTableStore, cat: source.Catalog, request: Request) -> Any:
        run = _int(request, "run") if request.query_params.get("run") else None
        return views.overview(store, cat, config, run, flow)

    routes = [
        Route("/", lambda request: FileResponse(STATIC / "index.html")),
        Route("/api/overview", endpoint(overview)),
        Route("/api/poll", endpoint(lambda s, c, r: views.poll(s, c))),
        Route("/api/runs", endpoint(lambda s, c, r: views.runs(s, c))),
        Route("/api/graph", endpoint(lambda s, c, r: views.graph(s, c, _int(r, "run"), flow))),
        Route("/api/task", endpoint(lambda s, c, r: views.task(s, c, _int(r, "run"), _text(r, "task")))),
        Route("/api/timeline", endpoint(lambda s, c, r: views.timeline(s, c, _int(r, "run")))),
        Route("/api/tables", endpoint(lambda s, c, r: views.tables(s, c))),
        Route("/api/batches", endpoint(lambda s, c, r: views.batches(s, c))),
        Route(
            "/api/preview",
            endpoint(
                lambda s, c, r: views.preview(
                    s, _text(r, "stage"), _text(r, "table"), _int(r, "offset", 0), _int(r, "limit", 50, 1, MAX_PREVIEW)
                )
            ),
        ),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one the system picks).

    Raises:
        PipedagError: when the address cannot be bound (port in use, unknown host).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        raise PipedagError(f"Cannot listen on {host}:{port}: {exc}; pick another --port or --host.") from None
    sock.listen(64)
    return sock


def serve(app: Starlette, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until interrupted (Ctrl-C)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    server.run(sockets=[sock])
