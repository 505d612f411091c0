"""Topics made before the services start, with enough partitions for replicas to share the work.

A topic the broker creates on first use has one partition (Tansu, when a consumer asks first), and one
partition is read by one member of a consumer group: a second replica would only stand by. Partitions
are per key (the aggregate id), so the events of one case still stay in order.
"""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from eoc_shared.events.schemas import CATALOGUE

DEFAULT_PARTITIONS = 4


async def ensure_topics(bootstrap: str, partitions: int = DEFAULT_PARTITIONS) -> list[str]:
    """Create every catalogue topic (and its .dlq) that does not exist yet; answers the ones created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for spec in CATALOGUE.values() for t in (spec.topic, spec.dlq) if t not in existing]
        created = []
        for topic in wanted:
            try:
                await admin.create_topics([NewTopic(topic, num_partitions=partitions if not topic.endswith(".dlq") else 1,
                                                    replication_factor=1)])
                created.append(topic)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        await admin.close()
