"""Topics made before the services start: see `eoc_shared.broker.ensure_topics` (every embedded broker start
makes them; a Kafka cluster of a deployment has them made by its operators, docs/operations.md)."""

from __future__ import annotations

from eoc_shared.broker import DEFAULT_PARTITIONS, ensure_topics

__all__ = ["DEFAULT_PARTITIONS", "ensure_topics"]
