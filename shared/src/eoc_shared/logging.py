"""Structured JSON logs that never carry names, dates of birth, NHS numbers or free text."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

FORBIDDEN_KEYS = frozenset(
    {"given_name", "family_name", "name", "date_of_birth", "dob", "nhs_number", "address", "postcode",
     "summary", "notes", "note", "basis", "body", "payload", "email", "phone"}
)


def redact(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if key.lower() in FORBIDDEN_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


def add_trace_ids(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Trace and span ids of the current span, so a log line leads to its trace."""
    from eoc_shared.tracing import current_ids

    ids = current_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


def configure_logging(level: str = "INFO", json_output: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            add_trace_ids,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("aiokafka", "faststream", "kafka"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    # aiokafka logs each failed reconnect at ERROR; a broker outage is one `dependency.unavailable` line instead.
    logging.getLogger("aiokafka.client").setLevel(logging.CRITICAL)
