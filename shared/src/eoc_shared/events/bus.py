"""The service's connection to the event bus: an outbox relay that publishes, and consumers that handle.

Publishing: rows written to the outbox in the business transaction are sent by one relay per
service (message key = aggregate id), marked published only after the broker acknowledged them,
retried while the broker is away.

Consuming (FastStream, aiokafka underneath, AckPolicy.MANUAL): the handler runs in its own
transaction together with the inbox record of the event id; the offset is committed only
after that transaction commits. A message that is not valid JSON or does not match its schema
goes to `<topic>.dlq` at once; one whose handler keeps failing goes there after N attempts.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from eoc_shared import tracing
from eoc_shared.db import Database, UnitOfWork, utcnow
from eoc_shared.events.deadletters import DeadLetters, Parked
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import EventPayload, EventSpec, spec_for
from eoc_shared.metrics import EVENTS_CONSUMED, EVENTS_PUBLISHED, INBOX_DUPLICATES, OUTBOX_BACKLOG
from eoc_shared.outage import OutageEpisodes, is_outage

log = structlog.get_logger("eoc.bus")

Handler = Callable[[UnitOfWork, Envelope, Any], Awaitable[None]]


class PoisonMessage(Exception):
    """The message can never be handled (undecodable, wrong schema, wrong type)."""


def producer_for(bootstrap: str) -> AIOKafkaProducer:
    # Tansu has no idempotent producer; ordering per key comes from one partition per key.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=False,
        acks="all",
        request_timeout_ms=5000,
        retry_backoff_ms=200,
        linger_ms=0,
    )


# Replicas share one outbox: one relay round at a time (the lock ends with the round's transaction), so the
# events of one key are never sent by two relays side by side, out of order; SKIP LOCKED keeps rows single.
_ONE_RELAY_AT_A_TIME = text("SELECT pg_try_advisory_xact_lock(hashtext('eoc.outbox.relay'))")


class OutboxRelay:
    def __init__(self, service: str, db: Database, outbox_model: type, bootstrap: str, poll_seconds: float) -> None:
        self.service = service
        self._db = db
        self._outbox = outbox_model
        self._bootstrap = bootstrap
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._producer: AIOKafkaProducer | None = None
        self.connected = False
        self.outages: OutageEpisodes | None = None

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")

    async def stop(self, drain_seconds: float = 3.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task
        if self._producer is not None:
            try:
                await asyncio.wait_for(self.publish_pending(), drain_seconds)
            except Exception as exc:  # noqa: BLE001 - unpublished rows stay in the outbox for next start
                log.warning("outbox.drain_incomplete", service=self.service, error=type(exc).__name__)
            await self._close_producer()

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            self.connected = False
            try:
                await producer.stop()
            except Exception:  # noqa: BLE001
                pass

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = producer_for(self._bootstrap)
            try:
                await producer.start()
            except Exception:
                await producer.stop()
                raise
            self._producer = producer
            self.connected = True
        return self._producer

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            try:
                await self._ensure_producer()
                sent = await self.publish_pending()
                if self.outages is not None:
                    self.outages.succeeded("broker")
                backoff = 0.2
                if sent:
                    continue
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                except TimeoutError:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker away: keep the rows, try again later
                if self.outages is not None:  # one line per episode, not one per retry
                    self.outages.failed("database" if is_outage(exc) else "broker", exc)
                else:
                    log.warning("outbox.publish_failed", service=self.service, error=type(exc).__name__, retry_in=backoff)
                await self._close_producer()
                try:
                    await asyncio.wait_for(self._sleep_unless_stopping(), backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, 5.0)

    async def _sleep_unless_stopping(self) -> None:
        while not self._stopping:
            await asyncio.sleep(0.05)

    async def publish_pending(self, limit: int = 500) -> int:
        producer = await self._ensure_producer()
        model = self._outbox
        async with self._db.sessions() as session:
            if self._db.is_postgres and not (await session.execute(_ONE_RELAY_AT_A_TIME)).scalar_one():
                return 0  # another replica's relay is publishing a round; rows go out in order, by one of us
            # Columns, not ORM objects: loading and flushing hundreds of objects per round cost more than sending.
            stmt = (select(model.seq, model.id, model.topic, model.key, model.payload)
                    .where(model.published_at.is_(None)).order_by(model.seq).limit(limit))
            if self._db.is_postgres:
                stmt = stmt.with_for_update(skip_locked=True)
            rows = (await session.execute(stmt)).all()
            if not rows:
                return 0
            futures = []
            for row in rows:
                headers = [
                    ("ce_id", str(row.id).encode()),
                    ("ce_type", row.payload["type"].encode()),
                    ("content-type", b"application/cloudevents+json"),
                    *tracing.message_headers(row.payload, self.service, row.topic),
                ]
                value = json.dumps(row.payload, separators=(",", ":")).encode()
                futures.append(await producer.send(row.topic, value=value, key=row.key.encode(), headers=headers))
            await asyncio.gather(*futures)
            await session.execute(update(model).where(model.seq.in_([row.seq for row in rows])).values(published_at=utcnow())
                                  .execution_options(synchronize_session=False))
            for topic, n in Counter(row.topic for row in rows).items():
                EVENTS_PUBLISHED.labels(self.service, topic).inc(n)
            await session.commit()
            return len(rows)

    async def backlog(self) -> int:
        model = self._outbox
        async with self._db.sessions() as session:
            n = (await session.execute(select(func.count()).select_from(model).where(model.published_at.is_(None)))).scalar_one()
        OUTBOX_BACKLOG.labels(self.service).set(n)
        return int(n)


@dataclass
class Subscription:
    spec: EventSpec
    consumer: str
    handler: Handler


class Consumers:
    """FastStream subscribers with explicit acknowledgement after the database commit."""

    def __init__(
        self,
        service: str,
        bootstrap: str,
        uow_factory: Callable[[], UnitOfWork],
        inbox_model: type,
        max_attempts: int = 3,
        backoff_seconds: float = 0.2,
        fetch_max_wait_ms: int = 100,
        group_suffix: str = "",
        fetch_max_wait_ms_by_topic: dict[str, int] | None = None,
    ) -> None:
        self.service = service
        self.group_suffix = group_suffix
        self._uow_factory = uow_factory
        self._inbox = inbox_model
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self.broker = KafkaBroker(bootstrap, enable_idempotence=False, logger=None)
        # Tansu answers an empty fetch only when the wait expires, so this bounds each hop's latency.
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.fetch_max_wait_ms_by_topic = fetch_max_wait_ms_by_topic or {}
        self.subscriptions: list[Subscription] = []
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.outages: OutageEpisodes | None = None
        self.dead_letters: DeadLetters | None = None

    def subscribe(self, topic: str, handler: Handler) -> None:
        spec = spec_for(topic)
        consumer = f"{self.service}.{topic}"
        sub = Subscription(spec, consumer, handler)
        self.subscriptions.append(sub)

        @self.broker.subscriber(
            topic, group_id=consumer + self.group_suffix, auto_offset_reset="earliest", ack_policy=AckPolicy.MANUAL, max_records=1,
            fetch_max_wait_ms=self.fetch_max_wait_ms_by_topic.get(topic, self.fetch_max_wait_ms),
        )
        async def _on_message(msg: KafkaMessage) -> None:
            await self.dispatch(sub, msg)

    async def dispatch(self, sub: Subscription, msg: KafkaMessage) -> None:
        raw: bytes = msg.body
        key = msg.raw_message.key
        outcome, attempts, reason = await self.process(sub, raw, msg.headers)
        if outcome in ("handled", "duplicate"):
            await msg.ack()
            return
        await self._dead_letter(sub, raw, key, reason, attempts=attempts, msg=msg)

    async def process(self, sub: Subscription, raw: bytes, headers: dict[str, Any] | None = None) -> tuple[str, int, str]:
        """Decode and handle one message: (`handled`|`duplicate`|`poison`|`failed`, attempts, reason).

        Used for messages from the broker and for replays from the dead-letter table alike. While the
        database is unreachable the attempt is not counted: an outage must not dead-letter good messages.
        """
        try:
            envelope, payload = self.decode(sub.spec, raw)
        except PoisonMessage as exc:
            return "poison", 0, f"invalid message: {exc}"
        error = ""
        attempt = 0
        with tracing.consumer_span(self.service, sub.spec.topic, sub.consumer, envelope, headers):
            while attempt < self._max_attempts:
                attempt += 1
                try:
                    outcome = await self._handle_once(sub, envelope, payload)
                    if self.outages is not None:
                        self.outages.succeeded("database")
                    EVENTS_CONSUMED.labels(self.service, sub.spec.topic, outcome).inc()
                    if outcome == "duplicate":
                        INBOX_DUPLICATES.labels(self.service, sub.consumer).inc()
                    return outcome, attempt, ""
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - retried, then dead-lettered
                    if is_outage(exc):
                        if self.outages is not None:
                            self.outages.failed("database", exc)
                        attempt -= 1
                        await asyncio.sleep(1.0)
                        continue
                    error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
                    log.warning(
                        "consumer.handler_failed", service=self.service, topic=sub.spec.topic,
                        event_id=str(envelope.id), attempt=attempt, error=type(exc).__name__,
                    )
                    if attempt < self._max_attempts:
                        await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        return "failed", self._max_attempts, f"handler failed {self._max_attempts} times: {error}"

    @staticmethod
    def decode(spec: EventSpec, raw: bytes) -> tuple[Envelope, EventPayload]:
        try:
            envelope = Envelope.model_validate_json(raw)
        except ValidationError as exc:
            raise PoisonMessage(f"not a CloudEvents envelope: {exc.errors()[0]['msg'] if exc.errors() else exc}") from exc
        if envelope.topic != spec.topic:
            raise PoisonMessage(f"type {envelope.type} does not belong on topic {spec.topic}")
        if envelope.version != spec.version:
            raise PoisonMessage(f"unsupported version {envelope.type}; this consumer reads {spec.type}")
        try:
            payload = spec.model.model_validate(envelope.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise PoisonMessage(f"data.{'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
        return envelope, payload

    async def _handle_once(self, sub: Subscription, envelope: Envelope, payload: EventPayload) -> str:
        async with self._uow_factory() as uow:
            seen = await uow.session.get(self._inbox, (sub.consumer, envelope.id))
            if seen is not None:
                return "duplicate"
            uow.session.add(
                self._inbox(consumer=sub.consumer, event_id=envelope.id, topic=sub.spec.topic, handled_at=utcnow())
            )
            await uow.session.flush()
            await sub.handler(uow, envelope, payload)
            try:
                await uow.commit()
            except IntegrityError:
                await uow.rollback()
                async with self._uow_factory() as check:
                    if await check.session.get(self._inbox, (sub.consumer, envelope.id)) is not None:
                        return "duplicate"
                raise
        return "handled"

    async def _dead_letter(
        self, sub: Subscription, raw: bytes, key: bytes | None, reason: str, attempts: int, msg: KafkaMessage
    ) -> None:
        partition, offset = msg.raw_message.partition, msg.raw_message.offset
        try:
            if self.dead_letters is not None:
                attempts = await self.dead_letters.park(
                    Parked(sub.consumer, sub.spec.topic, partition, offset, key, raw, reason, attempts))
            await self.publish_dead_letter(sub, raw, key, reason, attempts, partition, offset)
        except Exception:
            # Not parked anywhere yet: do not move past it; it will be redelivered.
            await msg.nack()
            await asyncio.sleep(1.0)
            raise
        log.error("consumer.dead_lettered", service=self.service, topic=sub.spec.topic, dlq=sub.spec.dlq,
                  offset=offset, attempts=attempts)
        EVENTS_CONSUMED.labels(self.service, sub.spec.topic, "dead_lettered").inc()
        await msg.ack()

    async def publish_dead_letter(
        self, sub: Subscription, raw: bytes, key: bytes | None, reason: str, attempts: int, partition: int, offset: int
    ) -> None:
        headers = {
            "dlq-reason": reason[:4000],
            "dlq-topic": sub.spec.topic,
            "dlq-partition": str(partition),
            "dlq-offset": str(offset),
            "dlq-consumer": sub.consumer,
            "dlq-attempts": str(attempts),
            "dlq-at": utcnow().isoformat(),
        }
        await self.broker.publish(raw, topic=sub.spec.dlq, key=key, headers=headers)

    def subscription(self, topic: str, consumer: str) -> Subscription | None:
        return next((s for s in self.subscriptions if s.spec.topic == topic and s.consumer == consumer), None)

    def start(self) -> None:
        if self.subscriptions:
            self._task = asyncio.create_task(self._start_with_retry(), name=f"consumers-{self.service}")

    async def _start_with_retry(self) -> None:
        backoff = 0.5
        while True:
            try:
                await self.broker.start()
                self.connected = True
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker not up yet
                log.warning("consumers.start_failed", service=self.service, error=type(exc).__name__, retry_in=backoff)
                try:
                    await self.broker.stop()
                except Exception:  # noqa: BLE001
                    pass
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def stop(self) -> None:
        if self._task and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.broker.stop()
        self.connected = False
