"""Structured JSON logs that never carry names, dates of birth, NHS numbers or free text."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from eoc_shared.tracing import current_ids

FORBIDDEN_KEYS = frozenset(
    {"given_name", "family_name", "name", "date_of_birth", "dob", "nhs_number", "address", "postcode",
     "summary", "notes", "note", "basis", "body", "payload", "email", "phone"}
)


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in FORBIDDEN_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


def add_trace_ids(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Trace and span ids of the current span, so a log line leads to its trace."""
    ids = current_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


#: loggers whose records may carry a traceback of a failed request or task; they keep one line without it
TRACEBACK_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "starlette", "fastapi", "asyncio",
                     "sqlalchemy", "faststream", "aiokafka", "kafka")


class NoTraceback(logging.Filter):
    """A traceback repeats the bound values of every frame and exception (SQL parameters, request
    bodies), so a record keeps its own message and the error's type, never the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.exc_text or record.stack_info:
            exc = record.exc_info[1] if record.exc_info else None
            error = type(exc).__name__ if exc is not None else "unknown"
            record.msg = f"{str(record.msg).strip()} (error={error}; traceback withheld)"
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def withhold_tracebacks() -> None:
    """Install NoTraceback on the loggers of every layer and on the root handlers; idempotent. Logger
    filters survive uvicorn's own logging set-up, which replaces handlers but keeps filters."""
    for name in ("", *TRACEBACK_LOGGERS):
        logger = logging.getLogger(name)
        if not any(isinstance(f, NoTraceback) for f in logger.filters):
            logger.addFilter(NoTraceback())
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, NoTraceback) for f in handler.filters):
            handler.addFilter(NoTraceback())


def _not_json(value: Any) -> Any:
    """What JSON cannot hold, as structlog's JSONRenderer writes it: its `__structlog__()`, or its repr."""
    try:
        return value.__structlog__()
    except AttributeError:
        return repr(value)


#: one encoder for every line: `json.dumps` with `default=` (as JSONRenderer calls it) builds a new encoder per call
_encode = json.JSONEncoder(default=_not_json).encode


def _json_line(event_dict: Any, **_kw: Any) -> str:
    return _encode(event_dict)


def configure_logging(level: str = "INFO", json_output: bool = True) -> None:
    renderer = (structlog.processors.JSONRenderer(serializer=_json_line) if json_output
                else structlog.dev.ConsoleRenderer(colors=False))
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
    withhold_tracebacks()
