"""One trace from an HTTP request through the outbox, Kafka and the consumer to the events it publishes.

W3C trace context travels as the CloudEvents distributed-tracing extension (`traceparent`, `tracestate`)
inside the envelope kept in the outbox, and as the `traceparent` Kafka header. Spans carry ids and codes
only: SQL statements without their parameters, routes as templates, no query strings.
Spans are exported over OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_TRACER_NAME = "eoc"
_configured = False


def configure_tracing(service: str) -> None:
    """Install the SDK tracer provider once per process (all-in-one runs four services in one)."""
    global _configured
    if _configured:
        return
    _configured = True
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):  # someone (a test, an agent) installed one already
        return
    name = os.environ.get("OTEL_SERVICE_NAME") or (service if os.environ.get("EOC_ALL_IN_ONE") != "1" else "eoc")
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


_tracer_cache: dict[int, trace.Tracer] = {}


def tracer() -> trace.Tracer:
    """The tracer of the current provider, looked up once per provider rather than per request or statement."""
    provider = trace.get_tracer_provider()
    found = _tracer_cache.get(id(provider))
    if found is None:
        found = _tracer_cache[id(provider)] = provider.get_tracer(_TRACER_NAME)
    return found


def recording() -> bool:
    """Whether a span would go anywhere: false for the SDK's provider with no span processor (no exporter
    configured, nobody added one). Checked per span, since a processor may be added at any time (tests do)."""
    processor = getattr(trace.get_tracer_provider(), "_active_span_processor", None)
    processors = getattr(processor, "_span_processors", None)
    return processors is None or bool(processors)


_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def _unrecorded(parent: otel_context.Context | None) -> NonRecordingSpan:
    """A span that only carries ids: the parent's trace (or a new one) and a new span id, as the SDK would
    give them. With nothing to record, the SDK's span (attributes, events, timing, a lock) is all cost; its
    ids are what log lines (`trace_id`) and propagation (`traceparent` in events and Kafka headers) need."""
    parent_ctx = trace.get_current_span(parent).get_span_context()
    if parent_ctx.is_valid:
        trace_id, flags, state = parent_ctx.trace_id, parent_ctx.trace_flags, parent_ctx.trace_state
    else:
        trace_id, flags, state = random.getrandbits(128) or 1, _SAMPLED, None
    return NonRecordingSpan(SpanContext(trace_id, random.getrandbits(64) or 1, False, flags, state))


def start_span(name: str, *, context: otel_context.Context | None = None, kind: SpanKind = SpanKind.INTERNAL,
               attributes: dict[str, Any] | None = None) -> trace.Span:
    """`tracer().start_span`, or an id-only span when nothing records spans."""
    if recording():
        return tracer().start_span(name, context=context, kind=kind, attributes=attributes)
    return _unrecorded(context)


#: paths that get no server span (probes and scrapes would drown the traces)
UNTRACED_SUFFIXES = ("/healthz", "/readyz", "/metrics")


def server_span(scope: dict[str, Any], service: str) -> tuple[Any, object] | None:
    """Start the SERVER span of an HTTP request and make it current; answers (span, token) for `end_server_span`.

    Done here, once, instead of by the contrib ASGI instrumentation, which matched every route again per request
    to name its span and recorded the URL and query string only to blank them. The span is named after the
    route template once the router has matched it (`end_server_span`); attributes are ids and codes only.
    With no exporter it is an id-only span (`start_span`).
    """
    path: str = scope["path"]
    if path.endswith(UNTRACED_SUFFIXES):
        return None
    carrier = {k.decode("latin-1"): v for k, v in scope.get("headers") or () if k in (b"traceparent", b"tracestate")}
    parent = _context_of(carrier) if carrier else None
    method = scope.get("method", "GET")
    span = start_span(method, context=parent, kind=SpanKind.SERVER,
                      attributes={"http.request.method": method, "eoc.service": service})
    token = otel_context.attach(trace.set_span_in_context(span, parent))
    return span, token


def end_server_span(started: tuple[Any, object], scope: dict[str, Any], status: int) -> None:
    span, token = started
    try:
        if not span.is_recording():
            return
        template = getattr(scope.get("route"), "path", None)
        if template:
            span.update_name(f"{scope.get('method', 'GET')} {template}")
            span.set_attribute("http.route", template)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
    finally:
        otel_context.detach(token)  # type: ignore[arg-type]  # the token attach() gave


def instrument_engine(engine: Any, service: str) -> None:
    """Client spans for SQL, inside the span of a request or a message: the statement text with its
    placeholders, never the parameters.

    Done with SQLAlchemy's cursor events (the PyPI instrumentation does not yet support SQLAlchemy 2.1).
    """
    from sqlalchemy import event

    configure_tracing(service)
    sync_engine = engine.sync_engine
    system = sync_engine.dialect.name

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _start(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        if context is None or not trace.get_current_span().is_recording():
            # Outside any request or message (the relay's and the jobs' polling): a root span per statement
            # would be noise in the traces and work on every poll. Inside an id-only span (nothing records
            # spans, `start_span`) a statement's span would go nowhere.
            return
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = tracer().start_span(
            f"{operation} {system}", kind=SpanKind.CLIENT,
            attributes={"db.system": system, "db.statement": statement[:2000], "db.operation": operation,
                        "eoc.service": service},
        )
        context._eoc_span = span

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _end(_conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
        span = getattr(context, "_eoc_span", None)
        if span is not None:
            span.end()
            context._eoc_span = None

    @event.listens_for(sync_engine, "handle_error")
    def _failed(exception_context: Any) -> None:
        context = exception_context.execution_context
        span = getattr(context, "_eoc_span", None) if context is not None else None
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, type(exception_context.original_exception).__name__))
            span.end()
            context._eoc_span = None


def stamp(envelope: dict[str, Any]) -> None:
    """Put the current trace context into an envelope (CloudEvents distributed-tracing extension)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    if "traceparent" in carrier:
        envelope["traceparent"] = carrier["traceparent"]
        if carrier.get("tracestate"):
            envelope["tracestate"] = carrier["tracestate"]


def _context_of(carrier: Mapping[str, Any]) -> otel_context.Context:
    text = {k: (v.decode(errors="replace") if isinstance(v, bytes) else str(v))
            for k, v in carrier.items() if k in ("traceparent", "tracestate") and v}
    return _PROPAGATOR.extract(text)


def message_headers(payload: Mapping[str, Any], service: str = "", topic: str = "") -> list[tuple[str, bytes]]:
    """Kafka headers for the outbox rows of one stored trace context (and topic) in a relay round: a short
    producer span under that context, and its traceparent. The span names the first row's id."""
    if "traceparent" not in payload:
        return []
    span = start_span(
        f"{topic} publish", context=_context_of(payload), kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                    "messaging.message.id": str(payload.get("id", "")), "eoc.service": service},
    )
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    span.end()
    return [(k, v.encode()) for k, v in carrier.items()]


#: a message's headers: a mapping, or (name, value) pairs as a Kafka record holds them; values str or bytes
Headers = Mapping[str, Any] | Sequence[tuple[str, Any]] | None


@contextmanager
def consumer_span(
    service: str, topic: str, consumer: str, envelope: Any, headers: Headers
) -> Iterator[trace.Span]:
    """The consumer's span: a child of the message's `traceparent` header, else of the envelope's extension."""
    carrier: dict[str, Any] = dict(headers or {})
    if "traceparent" not in carrier:
        extra = getattr(envelope, "model_extra", None) or {}
        carrier = {k: extra[k] for k in ("traceparent", "tracestate") if k in extra}
    span = start_span(
        f"{topic} process", context=_context_of(carrier), kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                    "messaging.consumer.group.name": consumer, "messaging.message.id": str(envelope.id),
                    "eoc.service": service},
    )
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield span
    except BaseException as exc:
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        span.end()
        otel_context.detach(token)


def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) in hex of the current span, for log lines."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
