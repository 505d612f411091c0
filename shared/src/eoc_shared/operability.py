"""What operators need from every service, wired in one place: 503 on outages, traces, metrics, dead letters.

`attach(runtime)` gives the runtime its outage episodes and dead-letter table; `instrument(app, runtime)`
adds the outage handlers (HTTP metrics and server spans: the edge middleware in eoc_shared.service).
`refresh_gauges(runtime)` brings the scrape-time gauges up to date (outbox, DLQ, pool, consumer lag).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import Request
from sqlalchemy import event, func, select

from eoc_shared import tracing
from eoc_shared.events.deadletters import DeadLetters
from eoc_shared.metrics import (
    CONSUMER_LAG,
    DB_POOL_IN_USE,
    DLQ_DEPTH,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
)
from eoc_shared.outage import OutageEpisodes, is_outage

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

    from eoc_shared.service import ServiceRuntime

log = structlog.get_logger("eoc.operability")


def attach(runtime: ServiceRuntime, dead_letter_model: type | None) -> None:
    """Runtime-level wiring: outage episodes (ended by the first connection handed out again), dead letters, SQL spans."""
    runtime.outages = OutageEpisodes(runtime.name)
    runtime.relay.outages = runtime.outages
    runtime.consumers.outages = runtime.outages
    if dead_letter_model is not None:
        runtime.dead_letters = DeadLetters(runtime.name, runtime.db, dead_letter_model)
        runtime.consumers.dead_letters = runtime.dead_letters
    episodes = runtime.outages

    @event.listens_for(runtime.db.engine.sync_engine, "checkout")
    def _connection_handed_out(*_args: Any) -> None:
        if episodes.down("database"):
            episodes.succeeded("database")

    tracing.instrument_engine(runtime.db.engine, runtime.name)


def ops_router(runtime: ServiceRuntime) -> APIRouter:
    """Included before the service's own routers, so `/referrals/dlq` is never taken for a referral id."""
    from eoc_shared.dlq_api import dlq_router

    return dlq_router(runtime.settings.prefix)


def instrument(app: FastAPI, runtime: ServiceRuntime) -> None:
    """The outage handlers; the HTTP metrics and server spans are made by the service's edge middleware
    (eoc_shared.service.RequestContext), in one layer with the request id and the access log."""
    from eoc_shared.errors import install_outage_handlers

    app.state.outages = runtime.outages
    install_outage_handlers(app)


async def metrics_access(request: Request) -> None:
    """`/metrics` for an ops token, or for a scraper holding the static EOC_METRICS_TOKEN (Prometheus)."""
    import hmac

    from fastapi.security.utils import get_authorization_scheme_param

    from eoc_shared.auth import Scope
    from eoc_shared.errors import Forbidden, Unauthorized

    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() != "bearer" or not credentials:
        raise Unauthorized("a bearer token is required")
    runtime: ServiceRuntime = request.app.state.runtime  # Starlette's app state is untyped
    expected = runtime.settings.metrics_token
    if expected and hmac.compare_digest(credentials.encode(), expected.encode()):
        return
    principal = runtime.verifier.verify(credentials)
    if not principal.can(Scope.OPS):
        raise Forbidden(f"the role {principal.role.value} may not do this (needs ops)")


_LAG_EVERY = 5.0


async def refresh_gauges(runtime: ServiceRuntime) -> None:
    """Scrape-time gauges; a dependency that is away leaves the gauge as it was rather than failing the scrape."""
    pool = runtime.db.engine.pool
    checked_out = getattr(pool, "checkedout", None)
    DB_POOL_IN_USE.labels(runtime.name).set(checked_out() if callable(checked_out) else 0)
    try:
        await asyncio.wait_for(_refresh_database_gauges(runtime), 3.0)
    except Exception as exc:  # noqa: BLE001
        if not is_outage(exc):
            log.warning("metrics.refresh_failed", service=runtime.name, part="database", error=type(exc).__name__)
    if runtime.consumers.subscriptions:  # consumers that are not running lag too
        now = time.monotonic()
        if now - runtime.lag_refreshed_at >= _LAG_EVERY:
            runtime.lag_refreshed_at = now
            try:
                await asyncio.wait_for(_refresh_lag(runtime), 3.0)
            except Exception as exc:  # noqa: BLE001
                log.info("metrics.lag_unavailable", service=runtime.name, error=type(exc).__name__)


async def _refresh_database_gauges(runtime: ServiceRuntime) -> None:
    from eoc_shared.db import utcnow

    model: Any = runtime.outbox_model
    async with runtime.db.sessions() as session:
        count, oldest = (await session.execute(
            select(func.count(), func.min(model.created_at)).where(model.published_at.is_(None))
        )).one()
    OUTBOX_BACKLOG.labels(runtime.name).set(int(count))
    age = 0.0
    if oldest is not None:
        from eoc_shared.db import UTCDateTime

        oldest = UTCDateTime().process_result_value(oldest, runtime.db.engine.dialect)
        age = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0
    OUTBOX_OLDEST_AGE.labels(runtime.name).set(age)
    dead_letters: DeadLetters | None = getattr(runtime, "dead_letters", None)
    if dead_letters is not None:
        depth = {(t, c): n for t, c, n in await dead_letters.depth()}
        for sub in runtime.consumers.subscriptions:  # every consumer shows 0 too, so "not empty" can be alerted on
            depth.setdefault((sub.spec.topic, sub.consumer), 0)
        for (topic, consumer), n in depth.items():
            DLQ_DEPTH.labels(runtime.name, topic, consumer).set(n)


async def _refresh_lag(runtime: ServiceRuntime) -> None:
    """Lag = end offset − committed offset, per partition, for each of this service's consumer groups."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.structs import TopicPartition

    bootstrap = runtime.settings.kafka_bootstrap
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=2000)
    await admin.start()
    try:
        await reader.start()
        try:
            for sub in runtime.consumers.subscriptions:
                topic = sub.spec.topic
                parts = reader.partitions_for_topic(topic)
                if parts is None:
                    await reader.topics()
                    parts = reader.partitions_for_topic(topic) or set()
                tps = [TopicPartition(topic, p) for p in sorted(parts)]
                if not tps:
                    continue
                ends = await reader.end_offsets(tps)
                committed = await admin.list_consumer_group_offsets(
                    runtime.consumers.group_id, partitions=tps)
                for tp in tps:
                    meta = committed.get(tp)
                    done = meta.offset if meta is not None and meta.offset >= 0 else 0
                    CONSUMER_LAG.labels(runtime.name, sub.consumer, topic, str(tp.partition)).set(max(0, ends[tp] - done))
        finally:
            await reader.stop()
    finally:
        await admin.close()
