"""Ops-only dead-letter API, the same on every service: `GET {prefix}/dlq`, `POST {prefix}/dlq/replay`.

Lists what this service's consumers parked (reason, attempts, age; never the message body) and sends
parked messages back to one named consumer once the cause is fixed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from eoc_shared.api import StrictModel
from eoc_shared.auth import Principal, Scope, requires
from eoc_shared.db import utcnow
from eoc_shared.errors import Invalid
from eoc_shared.text import Text

Ops = Annotated[Principal, Depends(requires(Scope.OPS))]


class DeadLetterOut(BaseModel):
    id: uuid.UUID
    topic: str
    consumer: str
    partition: int
    offset: int
    key: str | None
    event_id: uuid.UUID | None
    reason: str
    attempts: int
    status: str
    first_parked_at: datetime
    parked_at: datetime
    age_seconds: int
    replayed_at: datetime | None


class ReplayIn(StrictModel):
    topic: Annotated[Text, Field(max_length=100)]
    consumer: Annotated[Text, Field(max_length=100)]
    ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=1000)


class ReplayItem(BaseModel):
    id: uuid.UUID
    outcome: str
    attempts: int


class ReplayOut(BaseModel):
    topic: str
    consumer: str
    results: list[ReplayItem]


def _out(row: Any) -> DeadLetterOut:
    now = utcnow()
    return DeadLetterOut(
        id=row.id, topic=row.topic, consumer=row.consumer, partition=row.partition, offset=row.offset, key=row.key,
        event_id=row.event_id, reason=row.reason, attempts=row.attempts, status=row.status,
        first_parked_at=row.first_parked_at, parked_at=row.parked_at,
        age_seconds=max(0, int((now - row.first_parked_at).total_seconds())), replayed_at=row.replayed_at,
    )


def dlq_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix.rstrip("/"), tags=["operations"])

    @router.get("/dlq", response_model=list[DeadLetterOut], summary="Dead letters this service's consumers parked (ops)")
    async def list_dead_letters(
        request: Request, _: Ops,
        topic: Annotated[Text | None, Query(max_length=100)] = None,
        consumer: Annotated[Text | None, Query(max_length=100)] = None,
        status: Annotated[str, Query(pattern="^(parked|replayed|all)$")] = "parked",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> list[DeadLetterOut]:
        dead_letters = request.app.state.runtime.dead_letters
        if dead_letters is None:
            return []
        rows = await dead_letters.listing(topic=topic, consumer=consumer, status=None if status == "all" else status,
                                          limit=limit, offset=offset)
        return [_out(r) for r in rows]

    @router.post("/dlq/replay", response_model=ReplayOut,
                 summary="Send parked messages back to one consumer of this service (ops)")
    async def replay_dead_letters(body: ReplayIn, request: Request, _: Ops) -> ReplayOut:
        runtime = request.app.state.runtime
        consumers = runtime.consumers
        known = sorted({s.spec.topic for s in consumers.subscriptions})
        if body.topic not in known:
            raise Invalid(f"this service consumes no topic {body.topic!r}; it consumes {', '.join(known) or 'none'}",
                          field="topic")
        sub = consumers.subscription(body.topic, body.consumer)
        if sub is None:
            names = sorted(s.consumer for s in consumers.subscriptions if s.spec.topic == body.topic)
            raise Invalid(f"no consumer {body.consumer!r} reads {body.topic} here; try {', '.join(names)}", field="consumer")
        if runtime.dead_letters is None:
            return ReplayOut(topic=body.topic, consumer=body.consumer, results=[])
        results = await runtime.dead_letters.replay(consumers, sub, body.ids)
        return ReplayOut(topic=body.topic, consumer=body.consumer,
                         results=[ReplayItem(id=r.id, outcome=r.outcome, attempts=r.attempts) for r in results])

    return router
