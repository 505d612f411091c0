"""The composition root every service shares: database, bus, auth, errors, health, one shape for all four."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from eoc_shared import operability, tracing
from eoc_shared.auth import TokenVerifier
from eoc_shared.db import Database, UnitOfWork, new_ids
from eoc_shared.errors import install_error_handlers
from eoc_shared.events.bus import Consumers, OutboxRelay
from eoc_shared.events.deadletters import DeadLetters
from eoc_shared.events.envelope import source_of
from eoc_shared.events.instance import BrokerWatch
from eoc_shared.jobs import Job
from eoc_shared.logging import configure_logging
from eoc_shared.metrics import HTTP_DURATION, HTTP_REQUESTS
from eoc_shared.migrations import upgrade_to_head
from eoc_shared.outage import OutageEpisodes
from eoc_shared.settings import ServiceSettings

log = structlog.get_logger("eoc.service")


class ServiceRuntime:
    """Everything a running service holds: its database, its outbox relay, its consumers, its token verifier."""

    def __init__(
        self, settings: ServiceSettings, *, outbox_model: type, inbox_model: type, migrations_dir: Path,
        dead_letter_model: type | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.service_name
        self.db = Database(settings.resolved_database_url)
        self.migrations_dir = migrations_dir
        self.outbox_model = outbox_model
        self.broker_watch = BrokerWatch(self.name, settings.kafka_bootstrap, settings.broker_check_seconds)
        self.relay = OutboxRelay(
            self.name, self.db, outbox_model, settings.kafka_bootstrap, settings.outbox_poll_seconds,
            watch=self.broker_watch, retention=timedelta(days=settings.outbox_retention_days),
            prune_every_seconds=settings.outbox_prune_seconds,
        )
        self.consumers = Consumers(
            self.name, settings.kafka_bootstrap, self.uow, inbox_model,
            max_attempts=settings.consumer_max_attempts, backoff_seconds=settings.consumer_backoff_seconds,
            fetch_max_wait_ms=settings.consumer_fetch_wait_ms, group_suffix=settings.consumer_group_suffix,
            watch=self.broker_watch, heartbeat_interval_ms=settings.consumer_heartbeat_ms,
            session_timeout_ms=settings.consumer_session_timeout_ms,
            rebalance_timeout_ms=settings.consumer_rebalance_timeout_ms,
            fetch_max_wait_ms_by_topic=settings.consumer_fetch_wait_ms_by_topic,
            short_wait_seconds=settings.consumer_short_wait_seconds,
            retention=timedelta(days=settings.outbox_retention_days),
        )
        self.verifier = TokenVerifier(settings)
        self.background: list[asyncio.Task[Any]] = []
        self.outages: OutageEpisodes
        self.dead_letters: DeadLetters | None = None
        self.jobs: list[Job] = []
        self.lag_refreshed_at = 0.0  # time.monotonic() of the last consumer-lag refresh (operability.refresh_gauges)
        operability.attach(self, dead_letter_model)

    def add_job(self, name: str, interval_seconds: float, run: Callable[[], Awaitable[Any]]) -> None:
        """Run `run()` in the background from start, then every `interval_seconds` (0 or less: never);
        `name` is also the `job` label of the scheduler metrics."""
        if interval_seconds > 0:
            self.jobs.append(Job(name, interval_seconds, run, self.name))

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, self.outbox_model, source_of(self.name), on_commit=self.relay.notify)

    async def start(self, on_migrated: Callable[[ServiceRuntime], Any] | None = None) -> None:
        # The consumer group join is mostly waiting on the broker: it runs while the database migrates,
        # and no message is handled before the service has started.
        if self.settings.run_consumers:
            self.consumers.start(handle=False)
        try:
            await upgrade_to_head(self.db.engine, self.migrations_dir)
            if on_migrated is not None:
                result = on_migrated(self)
                if asyncio.iscoroutine(result):
                    await result
        except BaseException:
            await self.consumers.stop()
            raise
        # What exists once started (modules, classes, the app) lives as long as the process: out of the collector's
        # way, so a full collection scans only what requests and messages create. A full collection over the
        # ~200k start-up objects took ~170 ms (finance's large summaries' p95, docs/finance.md) and came with
        # every few batches of feed events (docs/performance.md). Every service, so all-in-one freezes once
        # all four have started too. The young generation keeps CPython's threshold: docs/performance.md
        # (the fifth session) says why.
        gc.freeze()
        self.broker_watch.start()
        self.relay.start()
        if self.settings.run_consumers:
            self.consumers.handle()
        self.background.extend(job.start() for job in self.jobs)

    async def stop(self) -> None:
        for task in self.background:
            task.cancel()
        for task in self.background:
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        await self.consumers.stop()
        await self.relay.stop()
        await self.broker_watch.stop()
        await self.db.dispose()

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            async with self.db.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), 2.0)
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"unreachable ({type(exc).__name__})"
        checks["broker"] = "ok" if await broker_reachable(self.settings.kafka_bootstrap) else "unreachable"
        if self.settings.run_consumers and self.consumers.subscriptions:
            checks["consumers"] = "ok" if self.consumers.connected else "joining"
        return checks


async def broker_reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host or "127.0.0.1", int(port)), timeout)
            writer.close()
            return True
        except (TimeoutError, OSError, ValueError):
            continue
    return False


async def unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """Request-scoped unit of work; endpoints commit it before answering, anything else rolls back."""
    async with request.app.state.runtime.uow() as uow:
        yield uow


UoW = Annotated[UnitOfWork, Depends(unit_of_work)]


def unit_of_work_of(request: Request) -> UnitOfWork:
    """The request's unit of work for `async with` in the endpoint itself, for the hot write paths: the same
    transaction as the `UoW` dependency, without FastAPI's machinery for a generator dependency (an exit
    stack and a shielded cancel scope per request, 5–6 % of a registration's CPU)."""
    runtime: ServiceRuntime = request.app.state.runtime  # Starlette's app state is untyped
    return runtime.uow()


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestContext:
    """The one pure ASGI middleware at a service's edge: a request id on every request and response, the SERVER
    span, the HTTP metrics per route template and one access-log line without query strings.

    One wrapper instead of three (request id, metrics, the contrib OpenTelemetry middleware): each layer
    wrapped `send` again and ran its own try/finally, and the contrib one matched every route a second time
    per request to name its span.
    """

    def __init__(self, app: Any, service: str) -> None:
        self.app = app
        self.service = service
        self._metrics: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._ids: list[str] = []

    def _new_request_id(self) -> str:
        """A random UUID as text, made 256 at a time from one read of the OS's random source (`new_ids`):
        `str(uuid.uuid4())` per request cost 6 µs, as much as the rest of this middleware's own work."""
        if not self._ids:
            self._ids = [str(i) for i in new_ids(256)]
        return self._ids.pop()

    def _instruments(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        """The labelled counter and histogram children, looked up once per (method, route, status class)."""
        key = (method, route, status // 100)
        found = self._metrics.get(key)
        if found is None:
            found = self._metrics[key] = (HTTP_REQUESTS.labels(self.service, method, route, f"{status // 100}xx"),
                                          HTTP_DURATION.labels(self.service, method, route))
        return found

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else self._new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", request_id.encode("latin-1"))

        async def _send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(header)
            await send(message)

        span = tracing.server_span(scope, self.service)
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id, service=self.service)
        try:
            await self.app(scope, receive, _send)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"] if scope["method"] in _METHODS else "_OTHER"  # labels stay bounded
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            count, duration = self._instruments(method, route, status)
            count.inc()
            duration.observe(elapsed)
            log.info("http.request", method=method, path=scope["path"], status=status, ms=round(elapsed * 1000, 1))
            structlog.contextvars.reset_contextvars(**tokens)
            if span is not None:
                tracing.end_server_span(span, scope, status)


def health_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["health"])

    @router.get("/healthz", summary="Liveness: 200 while the process lives")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: 200 when the database and the broker are reachable")
    async def readyz(request: Request) -> JSONResponse:
        checks = await request.app.state.runtime.readiness()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)

    @router.get("/metrics", summary="Prometheus metrics (ops, or the scraper's EOC_METRICS_TOKEN)",
                dependencies=[Depends(operability.metrics_access)])
    async def metrics(request: Request) -> Response:
        await operability.refresh_gauges(request.app.state.runtime)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Iterable[APIRouter],
    on_start: Callable[[ServiceRuntime], Any] | None = None,
    first_routers: Iterable[APIRouter] = (),
) -> FastAPI:
    """`first_routers` are matched before the health, operations and other routers: the hot paths, whose
    requests would otherwise try every route declared before them (routes are tried in order). Only paths
    that no other route could match belong there."""
    prefix = runtime.settings.prefix
    configure_logging(runtime.settings.log_level, runtime.settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(on_start)
        log.info("service.started", service=runtime.name)
        try:
            yield
        finally:
            await runtime.stop()
            log.info("service.stopped", service=runtime.name)

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        docs_url=f"{prefix}/docs",
        openapi_url=f"{prefix}/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry layer stays off: RequestContext makes the one server span per request, and
        # FastAPI's would add spans per dependency, endpoint and serialisation (and keep the body for processors).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    for router in first_routers:
        # Their routes go into the app's own route list, not in as an included router: FastAPI matches an
        # included router's routes twice per request (once to choose the router, once inside it), through
        # its inclusion machinery. Each route carries its router's prefix and tags already.
        app.router.routes.extend(router.routes)
    app.include_router(health_router(prefix))
    app.include_router(operability.ops_router(runtime))
    for router in routers:
        app.include_router(router)
    operability.instrument(app, runtime)
    tracing.configure_tracing(runtime.name)
    app.add_middleware(RequestContext, service=runtime.name)
    return app
