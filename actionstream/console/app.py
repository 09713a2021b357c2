"""The console's ASGI app (Starlette): one page, a JSON API behind it, a server-sent-events feed, thumbnails,
the drift job's HTML reports and the one write action.

Why Starlette and uvicorn: both are maintained by the Encode team (as httpx), small and typed, and already in
the environment (MLflow and Feast serve with them); Starlette has server-sent events (a streaming response),
static files and a test client built in, and needs no framework layer on top for a dozen routes. The page's JS
is written plainly and served as a static file: no build step, nothing fetched from the internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from prometheus_client import make_asgi_app
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from actionstream.console.access import ConsoleAccess, RequireLogin, viewer_of
from actionstream.console.feed import ConsoleFeed
from actionstream.console.live import LiveHub
from actionstream.console.prometheus import PrometheusCharts, PrometheusUnreachable
from actionstream.console.promotion import ModelPanel, TokenRefused, UnknownVersion, check_token
from actionstream.console.reports import ReportIndex, file_prefix
from actionstream.console.settings import ConsoleSettings
from actionstream.console.state import ConsoleState
from streams.health import HEALTH, Health

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
# The page sends the admin token here: with security on, Authorization carries the viewer's basic credentials.
ADMIN_TOKEN_HEADER = "x-admin-token"


class ConsoleApp:
    """The routes over the state, the hub and the outside services they read."""

    def __init__(self, settings: ConsoleSettings, state: ConsoleState, hub: LiveHub,
                 feed: ConsoleFeed | None = None, health: Health = HEALTH) -> None:
        options = settings.console
        self.settings = settings
        self.health = health
        self.access = ConsoleAccess(settings.http_auth.username, settings.http_auth.secret(), options.site_passwords)
        self.state = state
        self.hub = hub
        self.feed = feed
        self.reports = ReportIndex(options.reports_dir)
        self.charts = PrometheusCharts(options.prometheus_url, options.prometheus_timeout_s, options.chart_minutes,
                                       options.chart_step_s)
        self.models = ModelPanel(settings.model.registry, settings.kafka, options.production_alias,
                                 options.publish_timeout_s)

    def asgi(self) -> Starlette:
        routes = [
            Route("/", self.index),
            Route("/healthz", self.healthz),
            Route("/readyz", self.readyz),
            Route("/api/state", self.api_state),
            Route("/api/live", self.api_live),
            Route("/api/charts", self.api_charts),
            Route("/api/models", self.api_models),
            Route("/api/models/promote", self.api_promote, methods=["POST"]),
            Route("/thumbnails/{site}/{camera}/{seq:int}.jpg", self.thumbnail),
            Route("/reports/{name}", self.report),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
            Mount("/metrics", make_asgi_app()),
        ]
        return Starlette(routes=routes, lifespan=self._lifespan,
                         middleware=[Middleware(RequireLogin, access=self.access)])

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        if self.feed is not None:
            self.feed.start()
        try:
            yield
        finally:
            if self.feed is not None:
                await run_in_threadpool(self.feed.close)

    async def index(self, _request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html")

    async def healthz(self, _request: Request) -> Response:
        return JSONResponse({"live": True})

    async def readyz(self, _request: Request) -> Response:
        ready, checks = self.health.report()
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def api_state(self, request: Request) -> Response:
        viewer = viewer_of(request)
        cameras = [camera for camera in self.state.cameras() if viewer.sees(camera["site"])]
        for camera in cameras:
            camera["reports"] = self.reports.for_camera(camera["site"], camera["camera"])
        return JSONResponse({"sites": [site for site in self.settings.sites if viewer.sees(site)],
                             "cameras": cameras,
                             "events": [event for event in self.state.events() if viewer.sees(event["site"])],
                             "model_updates": self.state.updates(),
                             "retrain_results": [result for result in self.state.results()
                                                 if viewer.sees(result["site"])],
                             "kafka_error": self.state.kafka_error,
                             "read_only": self.settings.console.read_only})

    async def api_live(self, request: Request) -> Response:
        """Server-sent events: `action` with each action event, `camera`, `drift` and `model` when a page
        should reload the state. A comment line every `sse_keepalive_s` keeps the connection open."""
        queue = self.hub.subscribe()
        keepalive = self.settings.console.sse_keepalive_s
        viewer = viewer_of(request)

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"  # the browser reconnects after 2 s if the console restarts
                while not await request.is_disconnected():
                    try:
                        message = await asyncio.wait_for(queue.get(), keepalive)
                    except TimeoutError:
                        yield ": keepalive\n\n"
                        continue
                    if viewer.sees(message.data.get("site")):
                        yield message.encode()
            finally:
                self.hub.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def api_charts(self, _request: Request) -> Response:
        try:
            charts = await run_in_threadpool(self.charts.charts)
        except PrometheusUnreachable as error:
            return JSONResponse({"error": str(error)}, status_code=503)
        return JSONResponse({"charts": charts, "prometheus": self.charts.url})

    async def api_models(self, _request: Request) -> Response:
        try:
            overview = await run_in_threadpool(self.models.overview)
        except Exception as error:  # the registry is another service: its failure is shown, not raised
            logger.warning("model registry not readable: %s", error)
            return JSONResponse({"error": f"model registry not readable ({type(error).__name__})"}, status_code=503)
        return JSONResponse({**overview, "read_only": self.settings.console.read_only})

    async def api_promote(self, request: Request) -> Response:
        """Move the production alias to {"version": "N"}: needs the admin token (X-Admin-Token, or
        Authorization: Bearer where the console asks for no login)."""
        token = request.headers.get(ADMIN_TOKEN_HEADER)
        authorization = f"Bearer {token}" if token is not None else request.headers.get("authorization")
        try:
            check_token(self.settings.console.admin_token, authorization)
        except TokenRefused as refused:
            headers = {"WWW-Authenticate": "Bearer"} if refused.status == 401 else None
            return JSONResponse({"error": str(refused)}, status_code=refused.status, headers=headers)
        try:
            body = await request.json()
            version = str(body["version"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'expected a JSON body {"version": "<registered version>"}'},
                                status_code=400)
        try:
            update = await run_in_threadpool(self.models.promote, version)
        except UnknownVersion as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        except Exception as error:  # registry or Kafka away: say which step failed, keep serving
            logger.warning("promotion of version %s failed: %s", version, error)
            return JSONResponse({"error": f"promotion of version {version} failed: {error}"}, status_code=503)
        logger.info("console moved @%s to %s version %s", update.alias, update.model, update.version)
        return JSONResponse({"model": update.model, "alias": update.alias, "version": update.version})

    async def thumbnail(self, request: Request) -> Response:
        params = request.path_params
        # Another site's frame is "no such frame": a site's user learns nothing of other sites' cameras.
        if not viewer_of(request).sees(params["site"]):
            return Response("no such frame", status_code=404)
        jpeg = self.state.thumbnail(params["site"], params["camera"], params["seq"])
        if jpeg is None:
            return Response("no such frame (thumbnails keep the last selected frames only)", status_code=404)
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    async def report(self, request: Request) -> Response:
        name, site = request.path_params["name"], viewer_of(request).site
        path = self.reports.resolve(name)
        if path is None or (site is not None and not name.startswith(file_prefix(site, ""))):
            return Response("no such report", status_code=404)
        return FileResponse(path, media_type="text/html")
