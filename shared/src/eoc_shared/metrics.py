"""Prometheus counters shared by every service (labelled by service, so all-in-one mode keeps them apart)."""

from prometheus_client import Counter, Gauge

EVENTS_PUBLISHED = Counter("eoc_events_published_total", "Events published from the outbox", ["service", "topic"])
EVENTS_CONSUMED = Counter(
    "eoc_events_consumed_total", "Events consumed, by outcome (handled, duplicate, dead_lettered)", ["service", "topic", "outcome"]
)
OUTBOX_BACKLOG = Gauge("eoc_outbox_backlog", "Events in the outbox not yet published", ["service"])
