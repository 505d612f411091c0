"""Benchmark: instructions per operation of the handlers every referral runs, in-process on SQLite.

Run: .venv/bin/python bench/handler_instructions.py [--ops 100] [--ref REF] [--only finance,read,...]
Needs valgrind (Debian: apt-get install -y valgrind). Each operation runs in its own process under
`valgrind --tool=callgrind`, with instrumentation switched on only around the measured loop (after set-up and
30 operations of warm-up): a count of instructions, not a time, so two runs of the same code agree within 1 %
whatever else the machine is doing. Wall-clock figures on this shared machine moved by ±40 % within minutes;
this is how a change to one handler is measured. `--ref REF` counts a git commit's code the same way, side
by side. The operations, one service each, as a referral reaches them:

  make         referral-svc: make_referral + commit (POST /referrals below HTTP)
  eligibility  eligibility-svc: referral.created handled (through Consumers.process, inbox included)
  finance      finance-svc: referral.created handled (a new child's projection)
  outcomes     outcomes-svc: referral.created handled
  decided      referral-svc: eligibility.decided handled
  read         referral-svc: read_referral + commit (GET /referrals/{id} below HTTP)
  feed         referral-svc: partner events POSTed through the whole ASGI app (middleware, token check,
               validation, group commit, response), 16 at once as `wrk -c16` sends them; counted per event.
               No socket, no broker: the request path of bench/feed_throughput.py's feed event. The hello
               endpoint (bench/_common.HELLO_APP) is counted the same way, and the ratio printed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from _common import HELLO_APP, checkout

OPERATIONS = ("make", "eligibility", "finance", "outcomes", "decided", "read")
HTTP_OPERATIONS = ("feed",)  # not in `together` (a referral's handlers); each also counts the hello endpoint
WARM_UP = 30
FEED_CONCURRENCY = 16  # the feed operation's events in flight at once; its count is per event
SERVICE = {"make": "referral", "decided": "referral", "read": "referral", "feed": "referral", "eligibility": "eligibility",
           "finance": "finance", "outcomes": "outcomes"}


async def _app(service: str, data_dir: str) -> Any:
    """The service's app (`create_app`) on a new SQLite file, migrated and seeded as at start (no broker:
    nothing is sent), with a development key pair for tokens."""
    from eoc_shared.auth import ensure_dev_keypair

    ensure_dev_keypair(Path(data_dir))
    app_module = importlib.import_module(f"{service}_svc.app")
    settings_module = importlib.import_module(f"{service}_svc.settings")
    settings_cls = next(v for k, v in vars(settings_module).items()
                        if k.endswith("Settings") and k != "ServiceSettings" and isinstance(v, type))
    settings = settings_cls(database_url=f"sqlite+aiosqlite:///{data_dir}/{service}.sqlite3",
                            kafka_bootstrap="127.0.0.1:1", data_dir=data_dir)
    app = app_module.create_app(settings)
    runtime = app.state.runtime
    from eoc_shared.migrations import upgrade_to_head

    await upgrade_to_head(runtime.db.engine, runtime.migrations_dir)
    seed = getattr(app_module, "_seed", None)
    if seed is not None:
        await seed(runtime)
    return app


def _envelope(topic: str, key: uuid.UUID, data: Any, source: str) -> bytes:
    from eoc_shared.events.envelope import build_envelope

    envelope = build_envelope(topic, key=str(key), data=data, source=source)
    envelope.pop("_topic")
    return json.dumps(envelope).encode()


def _referral_created(referral_id: uuid.UUID) -> bytes:
    from eoc_shared.events.schemas import ChildFacts, ReferralCreated

    payload = ReferralCreated(
        referral_id=referral_id, family_id=uuid.uuid4(), referred_on=date(2026, 11, 2), source="police",
        risk_factors=["neglect"], threshold_for_removal_met=True,
        children=[ChildFacts(child_id=uuid.uuid4(), age_years=12, legal_status="CIN")])
    return _envelope("referral.created", referral_id, payload, "urn:eoc:referral")


async def _consumer_op(runtime: Any, topic: str, messages: list[bytes]) -> Callable[[], Awaitable[None]]:
    consumers = runtime.consumers
    subscription = next(s for s in consumers.subscriptions if s.spec.topic == topic)
    pending = iter(messages)

    async def op() -> None:
        outcome = await consumers.process(subscription, next(pending))
        if outcome[0] != "handled":
            raise SystemExit(f"{topic} not handled: {outcome}")
    return op


async def _referral_ops(runtime: Any, what: str, n: int) -> Callable[[], Awaitable[None]]:
    from eoc_shared.acting import Acting
    from eoc_shared.events.schemas import spec_for
    from eoc_shared.vocab import Ethnicity, LegalStatus, ReferralSource, RiskFactor, Sex
    from referral_svc import families, referrals

    acting = Acting(actor="bench", role="social_worker", request_id="bench")
    async with runtime.uow() as uow:
        family = await families.register_family(uow, families.NewFamily("LA-BENCH", "AB1", "en", False), acting)
        await uow.commit()
    async with runtime.uow() as uow:
        child = await families.add_child(uow, family.id, families.NewChild(
            "C-BENCH", "A", "B", date(2014, 1, 1), Sex.F, Ethnicity.WBRI, LegalStatus.CIN), acting)
        await uow.commit()
    new = referrals.NewReferral(family.id, [child.id], date(2026, 11, 1), ReferralSource.SOCIAL_WORKER,
                                [RiskFactor.BEHAVIOUR], True)

    async def make() -> uuid.UUID:
        async with runtime.uow() as uow:
            view = await referrals.make_referral(uow, new, acting)
            await uow.commit()
        return view.referral.id

    if what == "make":
        async def make_op() -> None:
            await make()
        return make_op
    if what == "read":
        read_id = await make()

        async def read_op() -> None:
            async with runtime.uow() as uow:
                await referrals.read_referral(uow, read_id, acting)
                await uow.commit()
        return read_op
    model = spec_for("eligibility.decided").model
    messages = []
    for _ in range(n):
        referral_id = await make()
        decided = model.model_validate({
            "referral_id": str(referral_id), "decision_id": str(uuid.uuid4()), "rule_version": 1,
            "recommended": "MST", "decided_at": datetime.now(UTC).isoformat(),
            "programmes": [{"programme": "MST", "eligible": True, "reasons": []}]})
        messages.append(_envelope("eligibility.decided", referral_id, decided, "urn:eoc:eligibility"))
    return await _consumer_op(runtime, "eligibility.decided", messages)


def _requests(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body_of: Callable[[], bytes],
              expect: int) -> Callable[[], Awaitable[None]]:
    """An operation of FEED_CONCURRENCY requests at once, straight into the ASGI app (no socket)."""

    async def one() -> None:
        body = body_of()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
                 "headers": [(b"host", b"127.0.0.1:8000"), *headers, (b"content-length", str(len(body)).encode())]}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != expect:
            raise RuntimeError(f"{method} {path} answered {sent[0]['status']}: {sent[1:]}")

    async def op() -> None:
        await asyncio.gather(*(one() for _ in range(FEED_CONCURRENCY)))
    return op


async def _feed_op(app: Any, data_dir: str) -> Callable[[], Awaitable[None]]:
    """POST /referrals/feeds/police/events through the app's ASGI stack, each a new event for a child that exists."""
    from eoc_shared.auth import issue_dev_token

    await _referral_ops(app.state.runtime, "make", 0)  # the family and child C-BENCH
    header = f"Bearer {issue_dev_token(Path(data_dir), 'partner_feed', source='police')}".encode()
    counter = iter(range(10**9))

    def body() -> bytes:
        return (f'{{"external_id":"bench-{next(counter)}","occurred_at":"2026-11-30T22:00:00Z",'
                '"child":{"la_child_id":"C-BENCH"},"kind":"missing_episode"}').encode()
    return _requests(app, "POST", "/referrals/feeds/police/events",
                     [(b"content-type", b"application/json"), (b"authorization", header)], body, 202)


def _hello_op() -> Callable[[], Awaitable[None]]:
    """GET /hello of the hello endpoint every bench compares with, the same way."""
    namespace: dict[str, Any] = {}
    exec(HELLO_APP, namespace)  # noqa: S102 - the bench's own hello app
    return _requests(namespace["app"], "GET", "/hello", [], lambda: b"", 200)


async def _child(what: str, n: int) -> None:
    """Set up, warm up, then run `what` n times between the START and END lines the parent watches for."""
    data_dir = tempfile.mkdtemp(prefix="eoc-bench-instr-")
    try:
        if what == "hello":
            op = _hello_op()
        else:
            app = await _app(SERVICE[what], data_dir)
            runtime = app.state.runtime
            if what == "feed":
                op = await _feed_op(app, data_dir)
            elif SERVICE[what] == "referral":
                op = await _referral_ops(runtime, what, n + WARM_UP)
            else:
                op = await _consumer_op(runtime, "referral.created",
                                        [_referral_created(uuid.uuid4()) for _ in range(n + WARM_UP)])
        for _ in range(WARM_UP):
            await op()
        gc.freeze()  # the heap as a started service keeps it (ServiceRuntime.start)
        print("START", flush=True)
        await asyncio.sleep(2)  # the parent switches instrumentation on
        for _ in range(n):
            await op()
        print("END", flush=True)
        await asyncio.sleep(2)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def count(what: str, n: int, env: dict[str, str]) -> float:
    """Millions of instructions per operation of `what`, with the code `env` points at."""
    with tempfile.TemporaryDirectory() as out:
        profile = Path(out) / "callgrind.out"
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={profile}",
             sys.executable, __file__, "--child", what, "--ops", str(n)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, **env})
        assert proc.stdout is not None
        for line in proc.stdout:
            switch = {"START": "on", "END": "off"}.get(line.strip())
            if switch:
                subprocess.run(["callgrind_control", "-i", switch, str(proc.pid)], check=True, capture_output=True)
        if proc.wait() != 0:
            raise SystemExit(f"{what}: the measured process failed")
        total = 0
        for part in Path(out).glob("callgrind.out*"):
            for text in part.read_text(errors="replace").splitlines():
                if text.startswith(("summary:", "totals:")):
                    total = max(total, int(text.split()[1]))
    return total / n / 1e6 / (FEED_CONCURRENCY if what in ("feed", "hello") else 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=100, help="operations counted, after 30 of warm-up")
    parser.add_argument("--ref", help="also count a git commit's code (e.g. main), side by side")
    parser.add_argument("--only", default=",".join(OPERATIONS),
                        help="some of: " + ", ".join(OPERATIONS + HTTP_OPERATIONS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_child(args.child, args.ops))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install -y valgrind)")
    chosen = [w for w in args.only.split(",") if w]
    totals = {"this": 0.0, "ref": 0.0}
    hello = count("hello", args.ops, {}) if set(chosen) & set(HTTP_OPERATIONS) else 0.0
    if hello:
        print(f"{'hello':12s} {hello:6.2f} M instructions per request (the reference)", flush=True)
    with checkout(args.ref) as ref_env:
        for what in chosen:
            this = count(what, args.ops, {})
            line = f"{what:12s} {this:6.2f} M instructions per operation"
            if what in HTTP_OPERATIONS:
                line = f"{what:12s} {this:6.2f} M instructions per request = hello × {this / hello:.1f}"
            else:
                totals["this"] += this
            if args.ref:
                before = count(what, args.ops, ref_env)
                totals["ref"] += before if what not in HTTP_OPERATIONS else 0.0
                line += f"; {args.ref}: {before:6.2f} M ({100 * (this / before - 1):+.0f} %)"
            print(line, flush=True)
    if len([w for w in chosen if w not in HTTP_OPERATIONS]) > 1:
        line = f"{'together':12s} {totals['this']:6.2f} M"
        if args.ref:
            line += f"; {args.ref}: {totals['ref']:6.2f} M ({100 * (totals['this'] / totals['ref'] - 1):+.0f} %)"
        print(line)


if __name__ == "__main__":
    main()
