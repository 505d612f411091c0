"""Operability as the people who run the platform see it: traces across services, metrics that move, dead letters.

Real broker and PostgreSQL (the session's `platform`); the outage and run-mode tests are in
tests/test_outages.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from datetime import date

import pytest
from journeys import make_family, referral_body
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import ChildFacts, ReferralCreated
from eoc_shared.testing.fixtures import event_probe, eventually, produce_raw

TRACE_ID = uuid.uuid4().hex
TRACEPARENT = f"00-{TRACE_ID}-{uuid.uuid4().hex[:16]}-01"


def _created(referred_on: date) -> ReferralCreated:
    return ReferralCreated(
        referral_id=uuid.uuid4(), family_id=uuid.uuid4(), referred_on=referred_on, source="social_worker",
        risk_factors=["neglect"], threshold_for_removal_met=True,
        children=[ChildFacts(child_id=uuid.uuid4(), age_years=9, legal_status="CPP")],
    )


def _wire(data: ReferralCreated) -> tuple[str, bytes]:
    env = build_envelope("referral.created", key=str(data.referral_id), data=data, source="urn:eoc:test")
    return env["id"], json.dumps({k: v for k, v in env.items() if not k.startswith("_")}).encode()


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider), "services install the OpenTelemetry SDK's tracer provider"
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def _sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample in an exposition, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return None


async def test_one_trace_from_the_post_to_the_decision_shown_by_referral_svc(platform, auth, spans) -> None:
    client = platform.clients["referral"]
    sw = auth("social_worker")
    family_id, children = await make_family(client, sw)
    async with event_probe(platform.broker.bootstrap, ["referral.created", "eligibility.decided"]) as probe:
        r = await client.post("/referrals", json=referral_body(family_id, children),
                              headers={**sw, "traceparent": TRACEPARENT})
        assert r.status_code == 201, r.text
        referral_id = r.json()["id"]
        await probe.wait_for("referral.created", lambda m: m["data"]["referral_id"] == referral_id)
        await probe.wait_for("eligibility.decided", lambda m: m["data"]["referral_id"] == referral_id)
        headers = {t: h for t, _k, v, h in probe.messages
                   if isinstance(v, dict) and v.get("data", {}).get("referral_id") == referral_id}
        bodies = {t: v for t, _k, v, _h in probe.messages
                  if isinstance(v, dict) and v.get("data", {}).get("referral_id") == referral_id}
    # On the Kafka headers and in the envelope kept by the outbox (CloudEvents distributed tracing), same trace.
    for topic in ("referral.created", "eligibility.decided"):
        assert headers[topic]["traceparent"].split("-")[1] == TRACE_ID, topic
        assert bodies[topic]["traceparent"].split("-")[1] == TRACE_ID, topic

    async def shown() -> bool:
        got = await client.get(f"/referrals/{referral_id}", headers={**sw, "traceparent": TRACEPARENT})
        return bool(got.json()["eligibility"])

    await eventually(shown, timeout=20)
    ours = [s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == TRACE_ID]
    services = {s.attributes.get("eoc.service") for s in ours}
    assert {"referral", "eligibility"} <= services
    names = {s.name for s in ours}
    assert "POST /referrals" in names and "referral.created process" in names and "eligibility.decided process" in names
    assert any(s.name.startswith("GET /referrals/") for s in ours)
    # SQL spans keep the statement's placeholders, never a value (no names, dates of birth, ids).
    statements = [str(s.attributes.get("db.statement", "")) for s in ours if s.attributes.get("db.statement")]
    assert statements and not any(referral_id in st or family_id in st for st in statements)
    assert not any("Test" in str(v) for s in ours for v in (s.attributes or {}).values())


async def test_a_feed_batchs_announcements_carry_its_trace(platform, auth, spans) -> None:
    """Every `partner.event.received` of one batch request carries that request's trace context (envelope and
    Kafka header), and outcomes-svc's handling of the custody event among them is a span of the same trace."""
    client = platform.clients["referral"]
    sw = auth("social_worker")
    _family, (child_id,) = await make_family(client, sw)
    la_child_id = (await client.get(f"/referrals/children/{child_id}", headers=sw)).json()["la_child_id"]
    trace_id = uuid.uuid4().hex
    events = [{"external_id": f"T-{uuid.uuid4().hex[:12]}", "occurred_at": "2024-06-20T21:15:00+01:00",
               "child": {"la_child_id": la_child_id}, "kind": kind} for kind in ("arrest", "custody", "arrest")]
    async with event_probe(platform.broker.bootstrap, ["partner.event.received"]) as probe:
        r = await client.post("/referrals/feeds/police/events/batch", json={"events": events},
                              headers={**auth("partner_feed", source="police"),
                                       "traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"})
        assert r.status_code == 200, r.text
        ids = {x["id"] for x in r.json()["results"]}
        assert len(ids) == 3

        def announced() -> list[tuple[dict, dict]] | None:
            got = [(v, h) for t, _k, v, h in probe.messages
                   if t == "partner.event.received" and v["data"]["partner_event_id"] in ids]
            return got if len(got) == 3 else None

        messages = await eventually(announced, timeout=20)
    for body, headers in messages:
        assert body["traceparent"].split("-")[1] == trace_id
        assert headers["traceparent"].split("-")[1] == trace_id

    def handled() -> bool:
        return any(s.name == "partner.event.received process" and s.attributes.get("eoc.service") == "outcomes"
                   and format(s.context.trace_id, "032x") == trace_id for s in spans.get_finished_spans())

    await eventually(handled, timeout=20)


async def test_log_lines_carry_trace_and_span_ids(platform) -> None:
    """The services' configured log chain adds the current span's ids to every line."""
    import io

    import structlog

    from eoc_shared.tracing import _context_of, tracer

    out = io.StringIO()
    logger = structlog.wrap_logger(structlog.PrintLogger(out), processors=structlog.get_config()["processors"])
    with tracer().start_as_current_span("work", context=_context_of({"traceparent": TRACEPARENT})):
        logger.info("inside.a.request", referral_id="r-1")
    logger.info("outside.any.span")
    inside, outside = (json.loads(line) for line in out.getvalue().splitlines())
    assert inside["trace_id"] == TRACE_ID and len(inside["span_id"]) == 16
    assert "trace_id" not in outside


async def test_metrics_move_with_their_causes_and_pass_promtool(platform, auth) -> None:
    ops = auth("ops")
    eligibility = platform.clients["eligibility"]
    app = platform.apps["eligibility"]

    async def scrape() -> str:
        r = await eligibility.get("/eligibility/metrics", headers=ops)
        assert r.status_code == 200
        return r.text

    before = await scrape()
    # a request: counted and timed under its route template, never its raw path
    version = uuid.uuid4().int % 1000 + 5000
    assert (await eligibility.get(f"/eligibility/rules/{version}", headers=ops)).status_code == 404
    text = await scrape()
    route = "/eligibility/rules/{version}"
    labels = {"service": "eligibility", "method": "GET", "route": route}
    assert (_sample(text, "eoc_http_requests_total", status="4xx", **labels) or 0) > (
        _sample(before, "eoc_http_requests_total", status="4xx", **labels) or 0)
    assert (_sample(text, "eoc_http_request_duration_seconds_count", **labels) or 0) >= 1
    assert f"/eligibility/rules/{version}" not in text

    # a redelivered event: the inbox skips it and says so
    dup_labels = {"service": "eligibility", "consumer": "eligibility.referral.created"}
    skipped = _sample(text, "eoc_inbox_duplicates_skipped_total", **dup_labels) or 0
    _id, wire = _wire(_created(date(2024, 5, 1)))
    await produce_raw(platform.broker.bootstrap, "referral.created", wire, key=b"dup")
    await produce_raw(platform.broker.bootstrap, "referral.created", wire, key=b"dup")

    async def duplicate_counted() -> bool:
        return (_sample(await scrape(), "eoc_inbox_duplicates_skipped_total", **dup_labels) or 0) > skipped

    await eventually(duplicate_counted, timeout=30)

    # the pool: a connection held shows as in use
    async with app.state.runtime.db.engine.connect():
        assert (_sample(await scrape(), "eoc_db_pool_connections_in_use", service="eligibility") or 0) >= 1

    # consumer lag is measured per topic and partition (the group has caught up: 0 on each partition seen)
    text = await scrape()
    lag = [line for line in text.splitlines()
           if line.startswith("eoc_consumer_lag_messages{") and 'consumer="eligibility.referral.created"' in line]
    assert lag and all("partition=" in line for line in lag)

    # timers run in referral-svc and say so
    referral_metrics = (await platform.clients["referral"].get("/referrals/metrics", headers=ops)).text
    assert (_sample(referral_metrics, "eoc_scheduler_runs_total", job="escalations", outcome="ok") or 0) >= 1
    assert (_sample(referral_metrics, "eoc_scheduler_last_success_timestamp_seconds", job="escalations") or 0) > 0

    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is installed by .ci/run"
    for name in ("referral", "eligibility", "outcomes", "finance"):
        prefix = {"referral": "referrals"}.get(name, name)
        body = (await platform.clients[name].get(f"/{prefix}/metrics", headers=ops)).text
        checked = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True)
        assert checked.returncode == 0, f"{name}: {checked.stdout}{checked.stderr}"


async def test_a_parked_message_is_replayed_once_its_cause_is_fixed(platform, auth) -> None:
    """eligibility-svc cannot decide a referral from before any rule set; ops add one from 1990 and replay."""
    from eligibility_svc.domain.ruleset import RULES_V1

    eligibility = platform.clients["eligibility"]
    ops = auth("ops")
    bootstrap = platform.broker.bootstrap
    consumer, topic = "eligibility.referral.created", "referral.created"
    early = _created(date(1999, 6, 1))
    event_id, wire = _wire(early)

    async def parked() -> list[dict]:
        r = await eligibility.get("/eligibility/dlq", params={"topic": topic, "consumer": consumer}, headers=ops)
        assert r.status_code == 200, r.text
        return [d for d in r.json() if d["event_id"] == event_id]

    async with event_probe(bootstrap, ["referral.created.dlq"]) as probe:
        await produce_raw(bootstrap, topic, wire, key=str(early.referral_id).encode())
        (row,) = await eventually(parked, timeout=40)
        assert row["attempts"] == 3 and "no rule set is in force on 1999-06-01" in row["reason"]
        assert row["status"] == "parked" and row["age_seconds"] >= 0 and "message" not in row

        metrics = (await eligibility.get("/eligibility/metrics", headers=ops)).text
        assert (_sample(metrics, "eoc_dlq_depth", service="eligibility", topic=topic, consumer=consumer) or 0) >= 1

        # replayed before the fix: parked again, attempts kept and added to
        r = await eligibility.post("/eligibility/dlq/replay", json={"topic": topic, "consumer": consumer,
                                                                    "ids": [row["id"]]}, headers=ops)
        assert r.status_code == 200, r.text
        assert r.json()["results"] == [{"id": row["id"], "outcome": "parked_again", "attempts": 6}]
        await probe.wait_for("referral.created.dlq", lambda m: m["id"] == event_id, count=1)

        def parked_again_on_the_topic() -> bool:
            return any(h.get("dlq-attempts") == "6" and h.get("dlq-consumer") == consumer
                       for t, _k, v, h in probe.messages if isinstance(v, dict) and v.get("id") == event_id)

        await eventually(parked_again_on_the_topic, timeout=20)

    # the cause fixed: a rule set in force from 1990
    doc = json.loads(RULES_V1.model_dump_json())
    doc.update(version=uuid.uuid4().int % 1000 + 100, effective_from="1990-01-01", description="back-dated for 1999")
    assert (await eligibility.post("/eligibility/rules", json=doc, headers=ops)).status_code == 201

    async with event_probe(bootstrap, ["eligibility.decided"]) as probe:
        r = await eligibility.post("/eligibility/dlq/replay", json={"topic": topic, "consumer": consumer}, headers=ops)
        assert r.status_code == 200, r.text
        assert {"id": row["id"], "outcome": "handled", "attempts": 6} in r.json()["results"]
        await probe.wait_for("eligibility.decided", lambda m: m["data"]["referral_id"] == str(early.referral_id))
        assert await parked() == []
        # a second replay (or a redelivery) changes nothing: the inbox has the event
        again = await eligibility.post("/eligibility/dlq/replay", json={"topic": topic, "consumer": consumer,
                                                                        "ids": [row["id"]]}, headers=ops)
        assert again.json()["results"] == []
    from sqlalchemy import func, select

    from eligibility_svc.db.models import DecisionRecord

    async with platform.apps["eligibility"].state.runtime.db.sessions() as session:
        decided = (await session.execute(select(func.count()).select_from(DecisionRecord)
                                         .where(DecisionRecord.referral_id == early.referral_id))).scalar_one()
    assert decided == 1, "handled once"
    listed = (await eligibility.get("/eligibility/dlq", params={"status": "replayed", "consumer": consumer},
                                    headers=ops)).json()
    assert [d["status"] for d in listed if d["id"] == row["id"]] == ["replayed"]


async def test_the_dlq_api_is_for_ops_only_and_names_a_wrong_field(platform, auth) -> None:
    eligibility = platform.clients["eligibility"]
    assert (await eligibility.get("/eligibility/dlq", headers=auth("social_worker"))).status_code == 403
    ops = auth("ops")
    r = await eligibility.post("/eligibility/dlq/replay", json={"topic": "followup.due", "consumer": "x"}, headers=ops)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "topic"
    r = await eligibility.post("/eligibility/dlq/replay", json={"topic": "referral.created", "consumer": "finance.referral.created"},
                               headers=ops)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "consumer"
    r = await eligibility.post("/eligibility/dlq/replay", json={"topic": "referral.created", "consumer": "c", "extra": 1},
                               headers=ops)
    assert r.status_code == 422
    assert (await eligibility.get("/eligibility/dlq", params={"limit": 0}, headers=ops)).status_code == 422
    for name, prefix in (("referral", "referrals"), ("outcomes", "outcomes"), ("finance", "finance")):
        listed = await platform.clients[name].get(f"/{prefix}/dlq", headers=ops)
        assert listed.status_code == 200 and isinstance(listed.json(), list), (name, listed.text)


async def test_a_scraper_token_opens_metrics_and_nothing_else(databases, broker, data_dir, auth) -> None:
    from eligibility_svc.app import create_app
    from eligibility_svc.settings import EligibilitySettings
    from eoc_shared.testing.fixtures import running, service_settings

    settings = service_settings(EligibilitySettings, database_url=await databases.create("scrape"), broker=broker,
                                data_dir=data_dir, run_consumers=False, metrics_token="s3cret-scraper")
    async with running(create_app(settings)) as client:
        scraper = {"Authorization": "Bearer s3cret-scraper"}
        assert (await client.get("/eligibility/metrics", headers=scraper)).status_code == 200
        assert (await client.get("/eligibility/metrics", headers=auth("ops"))).status_code == 200
        assert (await client.get("/eligibility/metrics", headers=auth("social_worker"))).status_code == 403
        assert (await client.get("/eligibility/metrics")).status_code == 401
        assert (await client.get("/eligibility/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await client.get("/eligibility/dlq", headers=scraper)).status_code == 401


async def test_lag_grows_for_a_consumer_that_does_not_consume_and_a_stuck_outbox_ages(
    databases, broker, data_dir, auth
) -> None:
    from eligibility_svc.app import create_app
    from eligibility_svc.settings import EligibilitySettings
    from eoc_shared.broker import free_port
    from eoc_shared.events.schemas import EligibilityDecided, ProgrammeDecision
    from eoc_shared.testing.fixtures import running, service_settings

    ops = auth("ops")
    # consumers registered but not running: every message on their topics is lag
    idle = create_app(service_settings(EligibilitySettings, database_url=await databases.create("lag"), broker=broker,
                                       data_dir=data_dir, run_consumers=False))
    # a relay whose broker never answers: the outbox row waits, and its age shows it
    stuck_settings = service_settings(EligibilitySettings, database_url=await databases.create("stuck"), broker=broker,
                                      data_dir=data_dir, run_consumers=False)
    stuck_settings.kafka_bootstrap = f"127.0.0.1:{free_port()}"
    stuck = create_app(stuck_settings)
    labels = {"consumer": "eligibility.referral.created", "topic": "referral.created"}
    async with running(idle) as client, running(stuck) as stuck_client:
        async def lag() -> float:
            text = (await client.get("/eligibility/metrics", headers=ops)).text
            return sum(float(line.rpartition(" ")[2]) for line in text.splitlines()
                       if line.startswith("eoc_consumer_lag_messages{")
                       and all(f'{k}="{v}"' in line for k, v in labels.items()))

        before = await lag()  # the shared broker may hold referral.created from other tests
        _id, wire = _wire(_created(date(2024, 5, 1)))
        await produce_raw(broker.bootstrap, "referral.created", wire, key=b"lagging")
        await produce_raw(broker.bootstrap, "referral.created", wire, key=b"lagging")

        async def grew() -> bool:
            return await lag() >= before + 2

        await eventually(grew, timeout=30)

        async with stuck.state.runtime.uow() as uow:
            uow.publish("eligibility.decided", key=uuid.uuid4(), data=EligibilityDecided(
                referral_id=uuid.uuid4(), decision_id=uuid.uuid4(), rule_version=1, recommended="OTHER_PREVENTION",
                programmes=[ProgrammeDecision(programme="OTHER_PREVENTION", eligible=True, reasons=["open"])],
                decided_at="2024-05-01T10:00:00Z"))
            await uow.commit()

        async def aged() -> bool:
            text = (await stuck_client.get("/eligibility/metrics", headers=ops)).text
            return ((_sample(text, "eoc_outbox_backlog", service="eligibility") or 0) >= 1
                    and (_sample(text, "eoc_outbox_oldest_unpublished_age_seconds", service="eligibility") or 0) >= 1)

        await eventually(aged, timeout=30)
        assert (await stuck_client.get("/eligibility/readyz")).status_code == 503
