"""Which broker instance a service is talking to: the cluster id from the broker's own metadata.

The embedded broker keeps nothing across a restart and gets a new cluster id at every start
(eoc_shared.broker); Apache Kafka keeps its cluster id for life. So a changed cluster id means "this
broker may not hold what we published before": relays replay their retention window, consumers go
back to the earliest offset. Both watch the same `BrokerWatch` of their service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.metadata import MetadataRequest

log = structlog.get_logger("eoc.bus")


class BrokerWatch:
    """Polls the cluster id every `interval` seconds; `instance` is the last one seen (None while away)."""

    def __init__(self, service: str, bootstrap: str, interval: float = 1.0) -> None:
        self.service = service
        self._bootstrap = bootstrap
        self._interval = interval
        self.instance: str | None = None
        self.reachable = False
        self._listeners: list[Callable[[str], None]] = []
        # Topics this service consumes: created again on a new instance before the listeners run, since
        # a consumer's offset commit for a topic the broker does not have is retried for ever.
        self.topics: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._client: AIOKafkaClient | None = None
        self._seen = asyncio.Event()

    def on_change(self, listener: Callable[[str], None]) -> None:
        """`listener(new_id)` is called when the cluster id differs from the one seen before (not the first)."""
        self._listeners.append(listener)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"broker-watch-{self.service}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self._close()

    async def first(self, timeout: float | None = None) -> str:
        """The cluster id, once the broker has answered once."""
        await asyncio.wait_for(self._seen.wait(), timeout)
        assert self.instance is not None
        return self.instance

    async def _close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                await client.close()
            except Exception:  # noqa: BLE001
                pass

    async def read(self) -> str:
        """Ask the broker for its cluster id (a metadata request for no topics: creates nothing)."""
        if self._client is None:
            client = AIOKafkaClient(bootstrap_servers=self._bootstrap, request_timeout_ms=2000,
                                    metadata_max_age_ms=3_600_000)
            try:
                await client.bootstrap()
            except Exception:
                await client.close()
                raise
            self._client = client
        node = self._client.get_random_node()
        if node is None:
            raise ConnectionError("no broker node known")
        response = await asyncio.wait_for(self._client.send(node, MetadataRequest([])), 3.0)
        cluster_id = getattr(response, "cluster_id", None)
        return str(cluster_id or "unknown")

    async def refresh(self) -> str | None:
        """Read the cluster id now (a relay does on every new connection); tell the listeners if it changed."""
        try:
            current = await self.read()
            self.reachable = True
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - broker away: try again later with a fresh client
            self.reachable = False
            await self._close()
            return None
        previous, self.instance = self.instance, current
        self._seen.set()
        if previous is not None and previous != current:
            log.warning("bus.new_broker_instance", service=self.service, previous=previous, cluster_id=current)
            if self.topics and self._client is not None:
                try:
                    node = self._client.get_random_node()
                    await asyncio.wait_for(self._client.send(node, MetadataRequest(sorted(self.topics), True)), 3.0)
                except Exception as exc:  # noqa: BLE001 - the consumers' own metadata requests create them too
                    log.info("bus.topics_not_created", service=self.service, error=type(exc).__name__)
            for listener in self._listeners:
                listener(current)
        return current

    async def _run(self) -> None:
        while True:
            current = await self.refresh()
            await asyncio.sleep(self._interval if current is not None else min(self._interval, 0.2))
