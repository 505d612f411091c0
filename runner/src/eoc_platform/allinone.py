"""All-in-one mode: the four services in one process behind one origin, each with its own SQLite file.

They still share nothing but the bus and public APIs: each keeps its own database, relay and
consumers; the dispatcher only routes by path prefix, as the nginx gateway does in distributed mode.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from eoc_platform import registry
from eoc_platform.body_limit import BodyLimit

SERVICES = tuple((f"/{s.prefix}", s.settings, s.create_app) for s in registry.SERVICES)


class PrefixDispatcher:
    def __init__(self, routes: list[tuple[str, Any]], fallback: Any) -> None:
        self.routes = routes
        self.fallback = fallback
        self.limited = BodyLimit(self.route)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":  # bodies over 2 MB are refused here, before any service reads them
            await self.limited(scope, receive, send)
            return
        await self.route(scope, receive, send)

    async def route(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            path = scope["path"]
            for prefix, app in self.routes:
                if path == prefix or path.startswith(prefix + "/"):
                    await app(scope, receive, send)
                    return
        await self.fallback(scope, receive, send)


class LazyApp:
    """An ASGI app built and started on its first request, not at start-up: the dashboard (Jinja, its
    views, its HTTP clients) is a second of import that no service needs to be ready."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._app: Any = None
        self._lock = asyncio.Lock()
        self._stack = AsyncExitStack()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app or await self._start()
        await app(scope, receive, send)

    async def _start(self) -> Any:
        async with self._lock:
            if self._app is None:
                # Imported in a thread, so the services keep answering meanwhile.
                app = await asyncio.to_thread(self._build)
                await self._stack.enter_async_context(app.router.lifespan_context(app))
                self._app = app
        return self._app

    async def aclose(self) -> None:
        await self._stack.aclose()


@asynccontextmanager
async def _all_started(apps: list[tuple[str, Any]]) -> AsyncIterator[None]:
    """Enter every service's lifespan side by side: one migrates while the others' consumers join
    their groups (a join is mostly a wait on the broker). One that fails stops them all."""
    async with AsyncExitStack() as stack:

        async def enter(app: Any) -> None:
            await stack.enter_async_context(app.router.lifespan_context(app))

        try:
            async with asyncio.TaskGroup() as group:
                for _prefix, app in apps:
                    group.create_task(enter(app))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        yield


def create_platform(data_dir: Path, kafka_bootstrap: str, **overrides: Any) -> Any:
    data_dir.mkdir(parents=True, exist_ok=True)
    apps = [
        (prefix, factory(settings_cls(data_dir=data_dir, kafka_bootstrap=kafka_bootstrap, **overrides)))
        for prefix, settings_cls, factory in SERVICES
    ]

    async def index(_request: Request) -> JSONResponse:
        return JSONResponse(
            {"platform": "Edge of Care", "services": {p.strip("/"): {"docs": f"{p}/docs", "health": f"{p}/healthz"} for p, _ in apps}}
        )

    platform = PrefixDispatcher(apps, None)

    def build_dashboard() -> Any:
        from eoc_dashboard.app import create_app as create_dashboard
        from eoc_dashboard.settings import DashboardSettings

        return create_dashboard(DashboardSettings(data_dir=data_dir), api_app=platform)

    # The dashboard answers `/` and every path no service has, calling the services in-process with the
    # signed-in person's token exactly as it would through the gateway; the JSON index moves to /platform.
    dashboard = LazyApp(build_dashboard)

    @asynccontextmanager
    async def with_dashboard(_app: Starlette) -> AsyncIterator[None]:
        async with _all_started(apps):
            try:
                yield
            finally:
                await dashboard.aclose()

    platform.fallback = Starlette(routes=[Route("/platform", index), Mount("/", app=dashboard)], lifespan=with_dashboard)
    return platform
