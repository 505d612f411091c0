"""The service's connection to the event bus: an outbox relay that publishes, and consumers that handle.

Publishing: rows written to the outbox in the business transaction are sent by one relay per
service (message key = aggregate id), marked published only after the broker acknowledged them,
retried while the broker is away. Published rows are kept for a retention window: when the relay
meets a new broker instance (a new cluster id, see eoc_shared.events.instance) it marks the window
unpublished again, so it goes out once more in outbox order; rows older than the window are pruned.

Consuming (FastStream, aiokafka underneath, AckPolicy.MANUAL; one consumer and one group per service
for all its topics, so a start costs one group join; handed what each fetch brought, handled record by
record in order): the handler runs in its own transaction together with the inbox record of the event id;
the offset is committed only after that transaction commits. A message that is not valid JSON or does not match its schema
goes to `<topic>.dlq` at once; one whose handler keeps failing goes there after N attempts.
"""

from __future__ import annotations

import asyncio
import functools
import random
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.partitioner import murmur2
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import AckStatus
from pydantic import ValidationError
from sqlalchemy import Table, Text, bindparam, delete, func, insert, select, text, type_coerce, update

from eoc_shared import tracing
from eoc_shared.db import Database, UnitOfWork, utcnow
from eoc_shared.events.deadletters import SETTLED, DeadLetters, Parked
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.instance import BrokerWatch
from eoc_shared.events.schemas import EventPayload, EventSpec, spec_for
from eoc_shared.metrics import EVENTS_CONSUMED, EVENTS_PUBLISHED, INBOX_DUPLICATES, OUTBOX_BACKLOG
from eoc_shared.outage import OutageEpisodes, is_outage

log = structlog.get_logger("eoc.bus")

Handler = Callable[[UnitOfWork, Envelope, Any], Awaitable[None]]


class PoisonMessage(Exception):
    """The message can never be handled (undecodable, wrong schema, wrong type)."""


# Clients refresh what they know of topics and partitions this often (Kafka's default is 5 minutes). A new
# broker instance can briefly report a topic with fewer partitions than it then has (seen with Tansu under
# repeated restarts); a consumer group assigned from that view would never read the other partitions.
# aiokafka rejoins the group when a refresh shows a topic's partition count changed.
METADATA_MAX_AGE_MS = 2000

# Records handed to the service per FastStream call: what a fetch brought, up to this many. FastStream's own work
# per call (its context, dependency solving, middlewares, parsing) was four fifths of what an event the service
# ignores cost, so a burst (a partner's batch announced) pays it once per fetch instead of once per event.
BATCH_RECORDS = 500

# At most this many (consumer, event id) pairs are held in a service's cache of handled events (~25 MB).
SEEN_LIMIT = 250_000


@functools.lru_cache(maxsize=65_536)
def _hash_of(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def key_partitioner(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's default partitioner (Java client's murmur2 of the key), with the hash of a key remembered:
    a burst of events is mostly about few keys, and the pure-Python murmur2 was a relay's largest frame."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[_hash_of(key) % len(all_partitions)]


def producer_for(bootstrap: str) -> AIOKafkaProducer:
    # Tansu has no idempotent producer; ordering per key comes from one partition per key.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        partitioner=key_partitioner,
        enable_idempotence=False,
        acks="all",
        request_timeout_ms=5000,
        retry_backoff_ms=200,
        linger_ms=0,
        # A relay round sends up to 1,000 events at once; in batches of 16 KiB (the default) that was some
        # 25 produce requests one after the other per partition, and the relay fell behind a batch feed.
        max_batch_size=1024 * 1024,
        # A restarted broker may answer with other partitions than the one before it; the producer must
        # not go on hashing keys over a count it learned from a broker that is gone.
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
    )


# Every outbox row's Kafka headers: CloudEvents binary-mode hints (`ce_id`, `ce_type`, this one; the body is the
# whole envelope) and the W3C trace context the row carries (tracing.message_headers).
_CONTENT_TYPE = ("content-type", b"application/cloudevents+json")


BROKER_INSTANCE = "broker_instance"


def _sqlite_header_fields(payload: Any) -> tuple[Any, ...]:
    """The payload's fields the Kafka headers need, read out of the stored JSON text by SQLite itself."""
    return tuple(func.json_extract(payload, f"$.{name}") for name in ("type", "traceparent", "tracestate"))


@functools.cache
def _sqlite_round(table: Table) -> tuple[Any, Any]:
    """A relay round's two statements on SQLite, built once per outbox (a round per event when events come one at
    a time): the unpublished rows in order up to `limit`, and marking rows `seqs` published `at`."""
    c = table.c
    unpublished = select(
        c.seq, c.id, c.topic, c.key, type_coerce(c.payload, Text), *_sqlite_header_fields(c.payload),
    ).where(c.published_at.is_(None)).order_by(c.seq).limit(bindparam("limit"))
    mark = update(table).where(c.seq.in_(bindparam("seqs", expanding=True))).values(published_at=bindparam("at"))
    return unpublished, mark


# Replicas share one outbox: one relay round at a time (the lock ends with the round's transaction, after the rows
# it sent are marked published), so the events of one key are never sent by two relays side by side, out of
# order, and no row is sent by two rounds. Row locks (FOR UPDATE SKIP LOCKED) would add nothing to that, and
# cost a WAL record per row: the round's SELECT took 3-4 times as long with them.
# In the same statement, for this transaction only: the round reads the unpublished rows by an index scan of
# `ix_outbox_unpublished`, in seq order, and stops at its limit. The planner otherwise chose a bitmap scan of
# every unpublished row and a sort (3x the time for a 5,000-row round behind a batch feed, measured).
_ONE_RELAY_AT_A_TIME = text("SELECT pg_try_advisory_xact_lock(hashtext('eoc.outbox.relay')), "
                            "set_config('enable_bitmapscan', 'off', true)")


class OutboxRelay:
    def __init__(
        self, service: str, db: Database, outbox_model: type, bootstrap: str, poll_seconds: float,
        *, watch: BrokerWatch | None = None, retention: timedelta = timedelta(days=7),
        prune_every_seconds: float = 300.0,
    ) -> None:
        self.service = service
        self._db = db
        self._outbox = outbox_model
        self._bootstrap = bootstrap
        self._poll = poll_seconds
        self._watch = watch
        self.retention = retention
        self._prune_every = prune_every_seconds
        self._next_prune = 0.0
        # The broker instance this relay has made sure holds the window (None: not checked yet).
        self.instance: str | None = None
        self._check_instance = True
        tables: Any = outbox_model.metadata.tables  # type: ignore[attr-defined]
        self._state: Table | None = tables.get("bus_state")
        if watch is not None:
            watch.on_change(lambda _instance: self.notify())
        self._wake = asyncio.Event()
        self._contended = False  # the last round found another replica's relay publishing
        self.round_limit = 5000
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
            self._check_instance = True
        return self._producer

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            # Cleared before the round, not after it: a commit that lands while a round finds nothing (its
            # SELECT ran just before) must still wake the next round at once, not after the poll interval.
            self._wake.clear()
            try:
                await self._ensure_producer()
                await self.follow_broker_instance()
                await self._prune_when_due()
                sent = await self.publish_pending(self.round_limit)
                if self.outages is not None:
                    self.outages.succeeded("broker")
                backoff = 0.2
                # A round that was not full sent every row committed before it began; a row committed since
                # woke us (notify). Asking again at once found nothing, every round: on the decision path that
                # was an extra transaction per hop. Another replica's relay held the round: ask again soon.
                if sent >= self.round_limit:
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), min(self._poll, 0.05) if self._contended else self._poll)
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

    async def follow_broker_instance(self) -> int:
        """On a broker instance this service has not published to, replay the retention window.

        Replaying means marking the window's published rows unpublished again, in the same transaction
        that records the instance: a crash half-way leaves them unpublished, never forgotten. Answers the
        number of rows put back.
        """
        if self._watch is None:
            return 0
        if self._check_instance:
            # A new connection may be to a new broker: ask before publishing anything to it.
            await self._watch.refresh()
            self._check_instance = False
        current = self._watch.instance
        if current is None or current == self.instance or self._state is None:
            return 0
        state = self._state
        model: Any = self._outbox
        replayed = 0
        async with self._db.sessions() as session:
            stored = (await session.execute(select(state.c.value).where(state.c.name == BROKER_INSTANCE))).scalar()
            if stored != current:
                cutoff = utcnow() - self.retention
                result = await session.execute(
                    update(model).where(model.published_at.is_not(None), model.created_at >= cutoff)
                    .values(published_at=None)
                )
                replayed = int(getattr(result, "rowcount", 0) or 0)
                await session.execute(delete(state).where(state.c.name == BROKER_INSTANCE))
                await session.execute(insert(state).values(name=BROKER_INSTANCE, value=current, updated_at=utcnow()))
                await session.commit()
                log.warning("outbox.replaying", service=self.service, rows=replayed, cluster_id=current,
                            previous=stored, retention_days=self.retention.total_seconds() / 86400)
        if self._producer is not None:
            # What the producer knows of partitions came from the broker that is gone: ask the new one.
            try:
                await asyncio.wait_for(self._producer.client.force_metadata_update(), 3.0)
            except TimeoutError:
                pass  # the periodic refresh (METADATA_MAX_AGE_MS) comes soon anyway
        self.instance = current
        return replayed

    async def prune(self) -> int:
        """Delete published rows created before the retention window; unpublished rows are never pruned."""
        model: Any = self._outbox
        cutoff = utcnow() - self.retention
        async with self._db.sessions() as session:
            result = await session.execute(
                delete(model).where(model.published_at.is_not(None), model.created_at < cutoff)
            )
            await session.commit()
        pruned = int(getattr(result, "rowcount", 0) or 0)
        if pruned:
            log.info("outbox.pruned", service=self.service, rows=pruned)
        return pruned

    async def _prune_when_due(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() >= self._next_prune:
            self._next_prune = loop.time() + self._prune_every
            await self.prune()

    async def publish_pending(self, limit: int = 5000) -> int:
        producer = await self._ensure_producer()
        model: Any = self._outbox
        # The table's columns, not the mapped class's: the rows are plain tuples, with no ORM loading per row.
        table: Table = model.__table__
        postgres = self._db.is_postgres
        async with self._db.sessions() as session:
            self._contended = postgres and not (await session.execute(_ONE_RELAY_AT_A_TIME)).scalar_one()
            if self._contended:
                return 0  # another replica's relay is publishing a round; rows go out in order, by one of us
            # Columns, not ORM objects: loading and flushing hundreds of objects per round cost more than sending.
            # On PostgreSQL the payload comes as the text it is sent as, and only the fields the headers need
            # are read out of it; decoding every payload to encode it again cost as much as sending it.
            raw: Any = None
            if postgres:
                # Straight to the driver, inside the session's transaction (the lock above opened it): a round's
                # thousands of rows as asyncpg records, with no result wrapping or statement building per round.
                raw = (await (await session.connection()).get_raw_connection()).driver_connection
                rows: Sequence[Any] = await raw.fetch(
                    f"SELECT seq, id, topic, key, payload::text, payload->>'type', payload->>'traceparent', "
                    f"payload->>'tracestate' FROM {table.name} WHERE published_at IS NULL ORDER BY seq LIMIT $1",
                    limit)
            else:
                # SQLite keeps the payload as JSON text too: read as it is stored, not decoded to be encoded again.
                rows = (await session.execute(_sqlite_round(table)[0], {"limit": limit})).all()
            if not rows:
                return 0
            if not postgres:
                # SQLite: the service has one connection and this relay is its outbox's only one: give the
                # connection back while the broker acknowledges (a round trip) instead of holding up requests
                # and consumers; the UPDATE below takes it again.
                await session.commit()
            futures = []
            # Batches built here, one open per partition, instead of a `send` per message: the producer's own
            # per-message path (a future, partitioning, a lookup of the open batch) cost more than the rest of
            # a round. A key goes to the partition `send` would choose (key_partitioner), in outbox order.
            partitions: dict[str, list[int]] = {}
            placed: dict[tuple[str, str], tuple[bytes, tuple[str, int]]] = {}  # (topic, key) → encoded key, partition
            type_headers: dict[str, tuple[str, bytes]] = {}
            open_batches: dict[tuple[str, int], Any] = {}
            sent: Counter[str] = Counter()
            # One producer span per trace context and topic in a round, not per row: a batch's thousand
            # announcements share their request's context, and a span per row cost more than the rest of the row.
            traced: dict[tuple[str, str, str | None], list[tuple[str, bytes]]] = {}
            for seq, event_id, topic, row_key, body, ce_type, traceparent, tracestate in rows:
                value = body.encode()
                type_header = type_headers.get(ce_type)
                if type_header is None:
                    type_header = type_headers[ce_type] = ("ce_type", ce_type.encode())
                headers = [("ce_id", str(event_id).encode()), type_header, _CONTENT_TYPE]
                if traceparent is not None:
                    trace_headers = traced.get((topic, traceparent, tracestate))
                    if trace_headers is None:
                        context = {"id": str(event_id), "traceparent": traceparent}
                        if tracestate is not None:
                            context["tracestate"] = tracestate
                        trace_headers = traced[(topic, traceparent, tracestate)] = tracing.message_headers(
                            context, self.service, topic)
                    headers += trace_headers
                found = placed.get((topic, row_key))
                if found is None:
                    if topic not in partitions:
                        partitions[topic] = sorted(await producer.partitions_for(topic))
                    key = row_key.encode()
                    found = placed[(topic, row_key)] = (
                        key, (topic, key_partitioner(key, partitions[topic], partitions[topic])))
                key, where = found
                sent[topic] += 1
                batch = open_batches.get(where)
                if batch is None or batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    if batch is not None:  # full: send it, and start the next one for this partition
                        futures.append(await producer.send_batch(batch, where[0], partition=where[1]))
                    batch = open_batches[where] = producer.create_batch()
                    if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                        raise ValueError(f"outbox row {seq} is larger than a whole batch")
            for (topic, partition), batch in open_batches.items():
                futures.append(await producer.send_batch(batch, topic, partition=partition))
            await asyncio.gather(*futures)
            seqs = [row[0] for row in rows]
            if postgres:  # one array parameter, however many rows
                await raw.execute(f"UPDATE {table.name} SET published_at = $1 WHERE seq = ANY($2::bigint[])",
                                  utcnow(), seqs)
            else:
                await session.execute(_sqlite_round(table)[1], {"seqs": seqs, "at": utcnow()})
            for topic, n in sent.items():
                EVENTS_PUBLISHED.labels(self.service, topic).inc(n)
            await session.commit()
            return len(rows)

    async def backlog(self) -> int:
        model: Any = self._outbox
        async with self._db.sessions() as session:
            n = (await session.execute(select(func.count()).select_from(model).where(model.published_at.is_(None)))).scalar_one()
        OUTBOX_BACKLOG.labels(self.service).set(n)
        return int(n)


@dataclass
class Subscription:
    spec: EventSpec
    consumer: str
    handler: Handler
    relevant: Callable[[Any], bool] | None = None


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
        *,
        watch: BrokerWatch | None = None,
        heartbeat_interval_ms: int = 100,
        session_timeout_ms: int = 2000,
        rebalance_timeout_ms: int = 2000,
        fetch_max_wait_ms_by_topic: dict[str, int] | None = None,
        retention: timedelta = timedelta(days=7),
        poll_wait_ms: int | None = None,
        short_wait_seconds: float = 5.0,
    ) -> None:
        self.service = service
        # Event ids this service's inbox is known to hold, per consumer: a replay after broker loss repeats a
        # whole retention window, and recognising each repeat without a transaction is what makes it quick.
        # Only a cache: the inbox stays the judge, a miss asks the database.
        self.retention = retention
        self._seen: set[tuple[str, Any]] = set()
        self._preloading: asyncio.Task[None] | None = None
        # Offsets of repeats waiting to be committed, coalesced so that skipping a repeat costs no round trip.
        self._pending: dict[Any, int] = {}
        self._committed: dict[Any, int] = {}
        # Positions belong to one assignment on one broker instance: a rewind or a new assignment starts a
        # new epoch, and an offset read in an older one is never committed (it may lie past messages that
        # are read again from the start, and a later rebalance would resume from it and skip them).
        self._epoch = 0
        self._commit_lock = asyncio.Lock()
        self._committer: asyncio.Task[None] | None = None
        self.group_suffix = group_suffix
        # One group per service (replicas share its partitions); the inbox keeps one name per topic.
        self.group_id = service + group_suffix
        self._heartbeat_ms = heartbeat_interval_ms
        self._session_timeout_ms = session_timeout_ms
        self._rebalance_timeout_ms = rebalance_timeout_ms
        self._subscriber: Any = None
        # Set once the service may handle messages (migrated); the group join may begin before (see start).
        self._handling = asyncio.Event()
        self._repeats = 0
        self.rewinds = 0
        self._watch = watch
        # The broker instance the current assignment is read from (None before the first assignment).
        self._assigned_on: str | None = None
        # Set by a new instance: the next assignment (the rejoin) is read from the start as well, since
        # an offset committed to the new broker before the rewind is a position on the old one.
        self._rewind_on_assign = False
        if watch is not None:
            watch.on_change(lambda _instance: self.rewind(on_assign_too=True))
        self._uow_factory = uow_factory
        self._inbox: Any = inbox_model
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self.broker = KafkaBroker(bootstrap, enable_idempotence=False, logger=None,
                                  metadata_max_age_ms=METADATA_MAX_AGE_MS)
        # Tansu answers an empty fetch only when the wait expires, so this bounds each hop's latency.
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.fetch_max_wait_ms_by_topic = fetch_max_wait_ms_by_topic or {}
        # How long a poll waits for records that are not there yet; when none came, FastStream's batch loop
        # sleeps as long again, so a record arriving at an idle consumer may wait that long beyond its fetch.
        # By default half the fetch wait (at least 5 ms): each empty poll costs CPU, and a consumer that may
        # wait 100 ms for a fetch gains nothing from polling its buffer every 5 ms.
        self.poll_wait_ms = poll_wait_ms
        # The topics with a shorter wait (the decision path) have it only while they are busy: from the join,
        # and for `short_wait_seconds` after each of their records; then the consumer waits as long as the
        # others. At rest a 10 ms wait is a hundred empty fetches a second, and the two consumers that had
        # one cost ~0.16 of a core at rest, the broker's and their own (docs/performance.md).
        self._short_wait_seconds = short_wait_seconds
        self._urgent: frozenset[str] = frozenset()
        self._short_wait_ms = fetch_max_wait_ms
        self._short_until = 0.0
        self._slowing: asyncio.TimerHandle | None = None
        self.subscriptions: list[Subscription] = []
        self._counters: dict[tuple[str, str], Any] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.outages: OutageEpisodes | None = None
        self.dead_letters: DeadLetters | None = None

    def _consumed(self, topic: str, outcome: str) -> Any:
        """The counter of one topic's outcome, looked up once (a labelled child costs a lookup per message)."""
        counter = self._counters.get((topic, outcome))
        if counter is None:
            counter = self._counters[(topic, outcome)] = EVENTS_CONSUMED.labels(self.service, topic, outcome)
        return counter

    def subscribe(self, topic: str, handler: Handler, *, relevant: Callable[[Any], bool] | None = None) -> None:
        """`relevant(payload)` False: an event this service does nothing with. It is settled without a transaction
        (no inbox row: with nothing written there is nothing to guard against a repeat, which is ignored again)
        and counted as `ignored`; a partner feed's batch would otherwise cost a transaction per event here."""
        spec = spec_for(topic)
        consumer = f"{self.service}.{topic}"
        self.subscriptions.append(Subscription(spec, consumer, handler, relevant))

    def _fetch_wait(self, topics: Any) -> int:
        """One consumer reads all the service's topics: it waits no longer than its most urgent topic allows."""
        return min([self.fetch_max_wait_ms_by_topic.get(t, self.fetch_max_wait_ms) for t in topics] or [self.fetch_max_wait_ms])

    def _poll_wait(self, topics: Any) -> int:
        return self._poll_wait_for(self._fetch_wait(topics))

    def _poll_wait_for(self, fetch_wait_ms: int) -> int:
        return self.poll_wait_ms if self.poll_wait_ms is not None else max(5, fetch_wait_ms // 2)

    def fetch_wait_now(self) -> int | None:
        """The wait of the consumer's next fetch (None before it has joined): for tests and diagnostics."""
        fetcher = getattr(getattr(self._subscriber, "consumer", None), "_fetcher", None)
        return getattr(fetcher, "_fetch_max_wait_ms", None)

    def _set_fetch_wait(self, fetch_wait_ms: int) -> None:
        """Set the wait of the consumer's next fetches (aiokafka reads it for each request it builds) and of
        FastStream's polls of what they brought."""
        fetcher = getattr(getattr(self._subscriber, "consumer", None), "_fetcher", None)
        if fetcher is not None:
            fetcher._fetch_max_wait_ms = fetch_wait_ms
        if self._subscriber is not None:
            self._subscriber.batch_timeout_ms = self._poll_wait_for(fetch_wait_ms)

    def _busy(self) -> None:
        """An urgent topic is busy: short waits now, and until `short_wait_seconds` after the last call."""
        loop = asyncio.get_running_loop()
        self._short_until = loop.time() + self._short_wait_seconds
        if self._slowing is None:
            self._set_fetch_wait(self._short_wait_ms)
            self._slowing = loop.call_at(self._short_until, self._slow_down)
        elif self.fetch_wait_now() not in (None, self._short_wait_ms):
            self._set_fetch_wait(self._short_wait_ms)  # a consumer made anew since

    def _slow_down(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() < self._short_until:
            self._slowing = loop.call_at(self._short_until, self._slow_down)
            return
        self._slowing = None
        self._set_fetch_wait(self.fetch_max_wait_ms)

    def _register(self) -> None:
        """One FastStream subscriber (one aiokafka consumer, one group join) for all the service's topics, handed
        what each fetch brought (a batch subscriber); the records are handled one by one, in order."""
        self._by_topic = {sub.spec.topic: sub for sub in self.subscriptions}
        self._urgent = frozenset(t for t in self._by_topic if self._fetch_wait([t]) < self.fetch_max_wait_ms)
        self._short_wait_ms = self._fetch_wait(self._by_topic)
        if self._watch is not None:
            self._watch.topics.update(self._by_topic)
        subscriber = self.broker.subscriber(
            *self._by_topic, group_id=self.group_id, auto_offset_reset="earliest", ack_policy=AckPolicy.MANUAL,
            batch=True, max_records=BATCH_RECORDS, batch_timeout_ms=self._poll_wait(self._by_topic),
            fetch_max_wait_ms=self._fetch_wait(self._by_topic), heartbeat_interval_ms=self._heartbeat_ms,
            session_timeout_ms=self._session_timeout_ms, rebalance_timeout_ms=self._rebalance_timeout_ms,
            listener=_RewindOnAssign(self), decoder=_undecoded,
        )

        context = self.broker.context

        @subscriber
        async def _on_records() -> None:
            # The message from FastStream's context, not as an annotated parameter: that one is resolved by a
            # synchronous function in a worker thread for every call.
            msg: KafkaMessage = context.get_local("message")
            msg.committed = AckStatus.ACKED  # FastStream must not commit positions on its own: handle_records does
            if not self._handling.is_set():
                await self._handling.wait()
            await self.handle_records(msg.raw_message)

        self._subscriber = subscriber

    async def handle_records(self, records: Sequence[Any]) -> None:
        """Handle fetched records in order. One that can be neither handled nor dead-lettered (the database and
        the broker both away) holds its partition: it and that partition's later records are read again, while
        the other partitions go on. However this ends (an error, cancellation), no record is passed over: every
        partition is put back to its first record not done. After a rewind or a new assignment meanwhile, what
        is left is read again from the new positions instead."""
        if self._urgent and any(record.topic in self._urgent for record in records):
            self._busy()
        epoch = self._epoch
        held: dict[Any, int] = {}  # partition → offset to read again from
        settled: dict[Any, int] = {}  # partition → offset to commit
        done = 0
        try:
            for record in records:
                if epoch != self._epoch:
                    return
                tp = TopicPartition(record.topic, record.partition)
                if tp not in held:
                    if await self.dispatch(self._by_topic[record.topic], record, epoch):
                        settled[tp] = record.offset + 1
                    else:
                        held[tp] = record.offset
                done += 1
        finally:
            if epoch == self._epoch:
                # Every settled record is committed, repeats and ignored ones included (else a group whose last
                # records were repeats stays short of the end for good), in the background and coalesced with
                # the next ones: the next fetch does not wait for the broker's acknowledgement, and one read again
                # after a crash is a repeat the inbox recognises.
                for tp, offset in settled.items():
                    self._pending[tp] = max(self._pending.get(tp, 0), offset)
                if settled:
                    self._schedule_flush()
                for record in records[done:]:
                    held.setdefault(TopicPartition(record.topic, record.partition), record.offset)
                consumer: Any = getattr(self._subscriber, "consumer", None)
                for tp, offset in held.items() if consumer is not None else ():
                    try:
                        consumer.seek(tp, offset)
                    except Exception as exc:  # noqa: BLE001 - not assigned any more: its next owner reads it
                        log.info("consumers.seek_skipped", service=self.service, error=type(exc).__name__)

    def rewind(self, *, on_assign_too: bool = False) -> None:
        """A new broker instance holds only what was published since it started: read it from the start.

        Called when the watch sees a new instance, and by the first assignment on a new instance (a
        rejoin): offsets committed there before the rewind were positions on the old broker, so they
        are not trusted. Offset 0, not a ListOffsets round trip; below a real log's start it resets
        to earliest.
        """
        consumer = getattr(self._subscriber, "consumer", None)
        instance = self._watch.instance if self._watch is not None else None
        if consumer is None or instance is None:
            return
        self._assigned_on = instance
        self._rewind_on_assign = self._rewind_on_assign or on_assign_too
        try:
            partitions = list(consumer.assignment())
            for tp in partitions:
                consumer.seek(tp, 0)
        except Exception as exc:  # noqa: BLE001 - not assigned any more: the next assignment comes back here
            log.info("consumers.rewind_skipped", service=self.service, error=type(exc).__name__)
            return
        self.rewinds += 1
        self._epoch += 1
        self._committed.clear()  # offsets committed to the old broker say nothing about the new one
        # Offsets committed to the new broker before this rewind are positions read from the old one: put
        # them back to the start too, or a rebalance before the next commit would resume from them.
        self._pending = {tp: 0 for tp in partitions}
        self._schedule_flush()
        self.preload_seen()
        # Partitions as the new instance has them: a changed count makes aiokafka rejoin and assign them all.
        client = getattr(consumer, "_client", None)
        if client is not None:
            client.force_metadata_update().add_done_callback(lambda f: f.cancelled() or f.exception())
        log.warning("consumers.rewound", service=self.service, group=self.group_id, partitions=len(partitions))

    async def on_assigned(self) -> None:
        # A partition may come back from another replica further on: what this member committed before says
        # nothing now; repeats that waited for a commit come again to whoever holds their partition.
        self._epoch += 1
        self._committed.clear()
        self._pending.clear()
        if self._watch is None:
            return
        try:  # may call rewind() itself, if the instance changed just now; never hold up the rebalance
            await asyncio.wait_for(self._watch.refresh(), 3.0)
        except TimeoutError:
            pass
        if self._rewind_on_assign or (
                self._assigned_on is not None and self._watch.instance not in (None, self._assigned_on)):
            self._rewind_on_assign = False
            self.rewind()
        elif self._assigned_on is None:
            self._assigned_on = self._watch.instance

    async def diagnostics(self) -> dict[str, Any]:
        """Where this service's consumer stands on the broker, partition by partition: for an operator (or a
        failing test) asking why an event was not handled. Offsets and counts only."""
        consumer = getattr(self._subscriber, "consumer", None)
        partitions: dict[str, Any] = {}
        if consumer is not None:
            for tp in sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition)):
                try:
                    position: int | str = await asyncio.wait_for(consumer.position(tp), 2.0)
                except Exception as exc:  # noqa: BLE001 - a diagnostic never fails
                    position = type(exc).__name__
                partitions[f"{tp.topic}/{tp.partition}"] = {
                    "position": position, "highwater": consumer.highwater(tp),
                    "committed": self._committed.get(tp)}
        return {"group": self.group_id, "connected": self.connected, "rewinds": self.rewinds,
                "assigned_on": self._assigned_on,
                "instance": self._watch.instance if self._watch is not None else None,
                "seen_cache": len(self._seen), "fetch_wait_ms": self.fetch_wait_now(), "partitions": partitions}

    async def dispatch(self, sub: Subscription, record: Any, epoch: int) -> bool:
        """Handle one record, or settle it as a repeat or ignored (its offset is then committed by the caller), or
        dead-letter it (committed here); False if it could not be settled."""
        raw: bytes = record.value
        # The headers as the record has them (name, bytes): only a handled event's span reads its trace context.
        outcome, attempts, reason = await self.process(sub, raw, record.headers)
        if outcome in SETTLED:
            return True
        return await self._dead_letter(sub, raw, record.key, reason, attempts=attempts, record=record, epoch=epoch)

    async def process(self, sub: Subscription, raw: bytes, headers: tracing.Headers = None) -> tuple[str, int, str]:
        """Decode and handle one message: (`handled`|`duplicate`|`ignored`|`poison`|`failed`, attempts, reason).

        Used for messages from the broker and for replays from the dead-letter table alike. While the
        database is unreachable the attempt is not counted: an outage must not dead-letter good messages.
        """
        try:
            envelope, payload = self.decode(sub.spec, raw)
        except PoisonMessage as exc:
            return "poison", 0, f"invalid message: {exc}"
        if sub.relevant is not None and not sub.relevant(payload):
            self._consumed(sub.spec.topic, "ignored").inc()
            return "ignored", 0, ""
        error = ""
        attempt = 0
        with tracing.consumer_span(self.service, sub.spec.topic, sub.consumer, envelope, headers):
            while attempt < self._max_attempts:
                attempt += 1
                try:
                    outcome = await self._handle_once(sub, envelope, payload)
                    if self.outages is not None:
                        self.outages.succeeded("database")
                    self._consumed(sub.spec.topic, outcome).inc()
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

    async def _commit_now(self, record: Any, epoch: int) -> None:
        """Commit the offset after a record parked in the dead-letter topic now, with whatever else is pending
        (handle_records commits the others in the background). A record read before a rewind or a new
        assignment is not committed: it comes again, and the inbox knows it."""
        if epoch != self._epoch:
            return
        tp = TopicPartition(record.topic, record.partition)
        self._pending[tp] = max(self._pending.get(tp, 0), record.offset + 1)
        await self._flush_commits()

    def _schedule_flush(self) -> None:
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._flush_commits(), name=f"commits-{self.service}")

    async def _flush_commits(self) -> None:
        """Commit pending offsets, one commit at a time and never an offset below one already committed.
        Handled is handled: a commit that fails (the broker restarting, a rebalance) is not a handler
        failure; the message may come again, and the inbox recognises it."""
        async with self._commit_lock:
            while self._pending:
                offsets = {tp: o for tp, o in self._pending.items() if o > self._committed.get(tp, -1)}
                self._pending = {}
                epoch = self._epoch
                consumer = getattr(self._subscriber, "consumer", None)
                if not offsets or consumer is None:
                    continue
                try:
                    # aiokafka retries some commit errors for ever (a topic the new broker lacks): bound the wait.
                    await asyncio.wait_for(consumer.commit(offsets), 3.0)
                    if epoch == self._epoch:  # else a rewind came meanwhile; its own commit follows
                        self._committed.update(offsets)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    log.info("consumer.commit_failed", service=self.service, error=type(exc).__name__)

    def preload_seen(self) -> None:
        """Load the retention window of the inbox into the cache of known event ids, in the background
        (once the service may handle: before, its inbox may not be migrated yet)."""
        if self._handling.is_set() and (self._preloading is None or self._preloading.done()):
            self._preloading = asyncio.create_task(self._preload_seen(), name=f"inbox-preload-{self.service}")

    async def _preload_seen(self) -> None:
        inbox = self._inbox
        cutoff = utcnow() - self.retention
        try:
            async with self._uow_factory() as uow:
                result = await uow.session.stream(
                    select(inbox.consumer, inbox.event_id).where(inbox.handled_at >= cutoff)
                    .execution_options(yield_per=5000))
                async for rows in result.partitions():
                    if len(self._seen) + len(rows) > SEEN_LIMIT:
                        break
                    self._seen.update((row[0], row[1]) for row in rows)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - only a cache: the inbox answers on a miss
            log.info("consumers.preload_failed", service=self.service, error=type(exc).__name__)

    @staticmethod
    def decode(spec: EventSpec, raw: bytes) -> tuple[Envelope, EventPayload]:
        try:
            envelope = Envelope.model_validate_json(raw)
        except ValidationError as exc:
            raise PoisonMessage(f"not a CloudEvents envelope: {exc.errors()[0]['msg'] if exc.errors() else exc}") from exc
        if envelope.type != spec.type:  # the usual case answered by one comparison
            if envelope.topic != spec.topic:
                raise PoisonMessage(f"type {envelope.type} does not belong on topic {spec.topic}")
            raise PoisonMessage(f"unsupported version {envelope.type}; this consumer reads {spec.type}")
        try:
            payload = spec.model.model_validate(envelope.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise PoisonMessage(f"data.{'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
        return envelope, payload

    async def _handle_once(self, sub: Subscription, envelope: Envelope, payload: EventPayload) -> str:
        """Handle one event in one transaction with its inbox row, or recognise it as a repeat.

        The inbox row is added after the handler has run and written in the commit's flush with the handler's
        last writes (no look-up first, no flush of its own: on the decision path, each hop is a few round trips
        to a database thread through a busy event loop). A repeat
        the cache does not know either breaks the inbox's primary key at commit, or makes its handler fail
        on state that already shows it; either way the transaction is rolled back, and the inbox, asked
        only then, says it was handled before."""
        key = (sub.consumer, envelope.id)
        if key in self._seen:
            return "duplicate"
        try:
            async with self._uow_factory() as uow:
                await sub.handler(uow, envelope, payload)
                uow.session.add(
                    self._inbox(consumer=sub.consumer, event_id=envelope.id, topic=sub.spec.topic, handled_at=utcnow())
                )
                await uow.commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not is_outage(exc) and await self._in_inbox(key):
                return "duplicate"
            raise
        if len(self._seen) < SEEN_LIMIT:
            self._seen.add(key)
        return "handled"

    async def _in_inbox(self, key: tuple[str, Any]) -> bool:
        async with self._uow_factory() as check:
            return await check.session.get(self._inbox, key) is not None

    async def _dead_letter(
        self, sub: Subscription, raw: bytes, key: bytes | None, reason: str, attempts: int, record: Any, epoch: int,
    ) -> bool:
        partition, offset = record.partition, record.offset
        try:
            if self.dead_letters is not None:
                attempts = await self.dead_letters.park(
                    Parked(sub.consumer, sub.spec.topic, partition, offset, key, raw, reason, attempts))
            await self.publish_dead_letter(sub, raw, key, reason, attempts, partition, offset)
        except Exception as exc:  # noqa: BLE001
            # Not parked anywhere yet: do not move past it; it is read again (handle_records puts it back).
            log.warning("consumer.dead_letter_failed", service=self.service, topic=sub.spec.topic, offset=offset,
                        error=type(exc).__name__)
            await asyncio.sleep(1.0)
            return False
        log.error("consumer.dead_lettered", service=self.service, topic=sub.spec.topic, dlq=sub.spec.dlq,
                  offset=offset, attempts=attempts)
        self._consumed(sub.spec.topic, "dead_lettered").inc()
        await self._commit_now(record, epoch)
        return True

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

    def start(self, *, handle: bool = True) -> None:
        """Join the consumer group in the background. With `handle=False` messages wait for `handle()`:
        a service joins while it migrates, since a join costs a second on the embedded broker whatever
        the settings (Tansu answers a new group's first JoinGroup after max(1 s, session timeout / 2))."""
        if self.subscriptions:
            if self._subscriber is None:
                self._register()
            self._task = asyncio.create_task(self._start_with_retry(), name=f"consumers-{self.service}")
        if handle:
            self.handle()

    def handle(self) -> None:
        """From now on messages are handled (the service is migrated); the inbox cache fills meanwhile."""
        self._handling.set()
        if self.subscriptions:
            self.preload_seen()

    async def _start_with_retry(self) -> None:
        backoff = 0.5
        started = asyncio.get_running_loop().time()
        while True:
            try:
                await self.broker.start()
                self.connected = True
                if self._urgent:
                    self._busy()  # a service that just started is likely to be asked for something soon
                log.info("consumers.joined", service=self.service, group=self.group_id,
                         ms=round((asyncio.get_running_loop().time() - started) * 1000))
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
        if self._slowing is not None:
            self._slowing.cancel()
            self._slowing = None
        for task in (self._preloading, self._committer):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        try:
            await asyncio.wait_for(self._flush_commits(), 3.0)
        except Exception:  # noqa: BLE001 - the next start reads from the last commit: repeats, recognised
            pass
        if self._task and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.broker.stop()
        self.connected = False


async def _undecoded(_msg: Any) -> None:
    """FastStream's decoder for the subscriber: nothing. The handler reads the records themselves; FastStream
    would otherwise parse every body as JSON only for it to be ignored."""
    return None


class _RewindOnAssign(ConsumerRebalanceListener):  # type: ignore[misc]
    """Partitions assigned after a broker instance change are read from the start (see Consumers.rewind)."""

    def __init__(self, consumers: Consumers) -> None:
        self._consumers = consumers

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._consumers.on_assigned()
