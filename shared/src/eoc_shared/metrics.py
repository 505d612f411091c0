"""Prometheus counters shared by every service (labelled by service, so all-in-one mode keeps them apart)."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter("eoc_events_published_total", "Events published from the outbox", ["service", "topic"])
EVENTS_CONSUMED = Counter(
    "eoc_events_consumed_total", "Events consumed, by outcome (handled, duplicate, ignored, dead_lettered)", ["service", "topic", "outcome"]
)
OUTBOX_BACKLOG = Gauge("eoc_outbox_backlog", "Events in the outbox not yet published", ["service"])

# What operators alert on (docs/operations.md, deploy/prometheus/alerts.yml). Routes are templates, never raw paths.
HTTP_REQUESTS = Counter(
    "eoc_http_requests_total", "HTTP requests answered, by route template and status class", ["service", "method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "eoc_http_request_duration_seconds", "Time to answer an HTTP request, by route template", ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
CONSUMER_LAG = Gauge(
    "eoc_consumer_lag_messages", "Messages on a partition not yet committed by the consumer", ["service", "consumer", "topic", "partition"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "eoc_outbox_oldest_unpublished_age_seconds", "Age of the oldest outbox row not yet published (0 when none)", ["service"]
)
DLQ_DEPTH = Gauge("eoc_dlq_depth", "Dead letters parked and not yet replayed", ["service", "topic", "consumer"])
INBOX_DUPLICATES = Counter(
    "eoc_inbox_duplicates_skipped_total", "Redelivered events the inbox recognised and skipped", ["service", "consumer"]
)
SCHEDULER_RUNS = Counter("eoc_scheduler_runs_total", "Scheduler and timer runs, by job and outcome", ["service", "job", "outcome"])
SCHEDULER_LAST_SUCCESS = Gauge(
    "eoc_scheduler_last_success_timestamp_seconds", "Unix time of the job's last successful run", ["service", "job"]
)
DB_POOL_IN_USE = Gauge("eoc_db_pool_connections_in_use", "Database connections checked out of the pool", ["service"])


def record_job_run(service: str, job: str, ok: bool) -> None:
    """One scheduler or timer run: counted by outcome; a success also moves the last-success time."""
    import time

    SCHEDULER_RUNS.labels(service, job, "ok" if ok else "failed").inc()
    if ok:
        SCHEDULER_LAST_SUCCESS.labels(service, job).set(time.time())
