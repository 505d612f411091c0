"""Benchmark: all-in-one, POST /referrals → eligibility decision visible on GET, at a fixed arrival rate.

Run: .venv/bin/python bench/decision_latency.py [--rates 10,50] [--seconds 10] [--env EOC_X=Y ...] [--after-rest N]
Referrals arrive open-loop at each rate (families and children made beforehand); each is read on GET as soon as
its `referral.updated` (status from the decision) is on the broker. Prints p50/p95/p99 per rate, and the hello
endpoint of the same run for scale. Goal: p99 ≤ 100 ms at 10/s and ≤ 250 ms at 50/s.

Referrals sent one by one before the rates (`--warm-up`, 10) keep out of the rates' figures what each process does
once after a start (statements compiled, rule sets parsed, first imports); the first of them is printed on its own.

With `--hops` it also prints where the time went, from when each event was seen on the broker: POST answered →
`referral.created` (referral-svc's relay) → `eligibility.decided` (eligibility-svc's consumer, decision, relay) →
`referral.updated` (referral-svc's consumer, update, relay) → GET. Seen through one more consumer (5 ms fetch wait),
so each point is up to 5 ms late.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from _common import checkout, cpu_seconds, hello_rps, platform, token
from aiokafka import AIOKafkaConsumer
from journeys import child_body, family_body, referral_body


async def _prepare(client: httpx.AsyncClient, n: int) -> list[tuple[str, str]]:
    async def one() -> tuple[str, str]:
        family = (await client.post("/referrals/families", json=family_body())).json()
        child = (await client.post(f"/referrals/families/{family['id']}/children",
                                   json=child_body(la_child_id=f"L-{uuid.uuid4().hex[:12]}"))).json()
        return family["id"], child["id"]

    out: list[tuple[str, str]] = []
    for start in range(0, n, 10):
        out += await asyncio.gather(*(one() for _ in range(min(10, n - start))))
    return out


HOPS = ("referral.created", "eligibility.decided", "referral.updated")


class Decisions:
    """Watches `referral.updated` on the broker, so each referral is read on GET once its decision has been
    applied, instead of polling it (polling at 50/s would itself be the load measured); with `hops`, notes when
    each event of the path was first seen."""

    def __init__(self, bootstrap: str, hops: bool = False) -> None:
        self.bootstrap = bootstrap
        self.topics = HOPS if hops else HOPS[-1:]
        self.seen: dict[str, asyncio.Event] = {}
        self.at: dict[tuple[str, str], float] = {}
        self._task: asyncio.Task[None] | None = None

    def event(self, referral_id: str) -> asyncio.Event:
        return self.seen.setdefault(referral_id, asyncio.Event())

    async def __aenter__(self) -> Decisions:
        self.consumer = AIOKafkaConsumer(*self.topics, bootstrap_servers=self.bootstrap,
                                         auto_offset_reset="latest", fetch_max_wait_ms=5, enable_auto_commit=False)
        await self.consumer.start()
        self._task = asyncio.create_task(self._pump())
        return self

    async def _pump(self) -> None:
        async for msg in self.consumer:
            referral_id = json.loads(msg.value)["data"]["referral_id"]
            self.at.setdefault((referral_id, msg.topic), time.perf_counter())
            if msg.topic == HOPS[-1]:
                self.event(referral_id).set()

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()


async def _one(client: httpx.AsyncClient, decisions: Decisions, family_id: str, child_id: str,
               hops: list[list[float]], timeout: float = 30.0) -> float:
    t0 = time.perf_counter()
    try:
        r = await client.post("/referrals", json=referral_body(family_id, [child_id]))
    except httpx.TransportError:
        return float("inf")
    r.raise_for_status()
    answered = time.perf_counter()
    rid = r.json()["id"]
    try:
        await asyncio.wait_for(decisions.event(rid).wait(), timeout)
    except TimeoutError:
        return float("inf")
    while time.perf_counter() - t0 < timeout:
        if (await client.get(f"/referrals/{rid}")).json().get("eligibility"):
            done = time.perf_counter()
            points = [t0, answered, *(decisions.at.get((rid, topic)) for topic in decisions.topics), done]
            if len(decisions.topics) == len(HOPS) and all(p is not None for p in points):
                hops.append([(b - a) * 1000 for a, b in zip(points, points[1:])])  # type: ignore[operator]
            return (done - t0) * 1000
        await asyncio.sleep(0.01)
    return float("inf")


async def warm_up(base: str, bootstrap: str, social: str, n: int) -> list[float]:
    """Referrals one after another, each decided before the next is sent, before any rate is measured: the first
    after start pays for what every process does once (statements compiled, first imports, rule sets parsed).
    Latencies in ms, in the order sent."""
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {social}"}, timeout=30) as client, \
            Decisions(bootstrap) as decisions:
        cases = await _prepare(client, n)
        await asyncio.sleep(1.0)  # let the children's events settle
        return [await _one(client, decisions, family_id, child_id, []) for family_id, child_id in cases]


async def after_rest(base: str, bootstrap: str, social: str, n: int, rest: float) -> list[float]:
    """Referrals each sent after `rest` seconds with nothing happening: the decision path's consumers keep their
    short fetch waits only while their topics are busy (`consumer_short_wait_seconds`), so these show what the
    first referral after a quiet spell waits. Latencies in ms, in the order sent."""
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {social}"}, timeout=30) as client, \
            Decisions(bootstrap) as decisions:
        cases = await _prepare(client, n)
        latencies = []
        for family_id, child_id in cases:
            await asyncio.sleep(rest)
            latencies.append(await _one(client, decisions, family_id, child_id, []))
        return latencies


HOP_NAMES = ("POST answered", "→ referral.created", "→ eligibility.decided", "→ referral.updated", "→ GET shows it")


async def run_rate(base: str, bootstrap: str, social: str, rate: float, seconds: float,
                   hops: list[list[float]] | None = None, cpu: tuple[int, list[float]] | None = None) -> list[float]:
    """Latencies in ms, sorted; with `cpu` (pid, list), appends the process's CPU seconds over the rate phase."""
    n = int(rate * seconds)
    watch_hops = hops is not None
    hops = [] if hops is None else hops
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {social}"}, timeout=30,
                                 limits=limits) as client, Decisions(bootstrap, hops=watch_hops) as decisions:
        cases = await _prepare(client, n)
        await asyncio.sleep(1.0)  # let the children's events settle
        tasks = []
        cpu_before = cpu_seconds(cpu[0]) if cpu else 0.0
        start = time.perf_counter()
        for i, (family_id, child_id) in enumerate(cases):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_one(client, decisions, family_id, child_id, hops)))
        latencies = sorted(await asyncio.gather(*tasks))
        if cpu:
            cpu[1].append(cpu_seconds(cpu[0]) - cpu_before)
        return latencies


@contextmanager
def _profiled(pid: int, path: str | None, rate: float) -> Iterator[None]:
    """py-spy on `eoc up` while the block runs, when asked for: samples of the thread holding the GIL (Python's CPU)."""
    if not path:
        yield
        return
    spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--format", "raw",
                            "--gil", "--rate", "200", "-o", f"{path}.{rate:g}", "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=30)


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, max(0, int(round(len(values) * p / 100)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="10,50")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--ref", help="run a git commit's code (e.g. main) instead of the working tree")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for `eoc up` (e.g. settings)")
    parser.add_argument("--hops", action="store_true", help="also print the time of each hop of the path")
    parser.add_argument("--warm-up", type=int, default=10, metavar="N",
                        help="referrals sent one by one before the rates (0: none); the first is reported on its own")
    parser.add_argument("--after-rest", type=int, default=0, metavar="N",
                        help="also N referrals each sent after --rest seconds of quiet (0: none)")
    parser.add_argument("--rest", type=float, default=8.0)
    parser.add_argument("--profile", help="py-spy record `eoc up` during each rate phase into this file (raw format)")
    args = parser.parse_args()
    env = dict(e.split("=", 1) for e in args.env)
    hello = hello_rps(5)
    print(f"hello endpoint: {hello:,.0f} req/s; code: {args.ref or 'working tree'}", flush=True)
    with checkout(args.ref) as code, platform(env={**code, **env}) as (base, data_dir, proc):
        social = token(data_dir, "social_worker")
        bootstrap = re.search(r"broker on (\S+);", (data_dir / "eoc.log").read_text()).group(1)  # type: ignore[union-attr]
        if args.warm_up:
            warm = asyncio.run(warm_up(base, bootstrap, social, args.warm_up))
            print(f"warm-up, {len(warm)} referrals one by one: the first after start {warm[0]:.0f} ms, "
                  f"the others p50 {statistics.median(warm[1:] or warm):.0f} ms", flush=True)
        if args.after_rest:
            rested = asyncio.run(after_rest(base, bootstrap, social, args.after_rest, args.rest))
            print(f"{len(rested)} referrals each after {args.rest:g} s of quiet: p50 {statistics.median(rested):.0f} ms, "
                  f"max {max(rested):.0f} ms ({', '.join(f'{v:.0f}' for v in rested)})", flush=True)
        for rate in (float(r) for r in args.rates.split(",")):
            hops: list[list[float]] = []
            cpu: list[float] = []
            with _profiled(proc.pid, args.profile, rate):
                lat = asyncio.run(run_rate(base, bootstrap, social, rate, args.seconds, hops if args.hops else None,
                                           cpu=(proc.pid, cpu)))
            print(f"{rate:g} referrals/s, {len(lat)} referrals: p50 {statistics.median(lat):.0f} ms, "
                  f"p95 {pct(lat, 95):.0f} ms, p99 {pct(lat, 99):.0f} ms, max {lat[-1]:.0f} ms; "
                  f"eoc up's CPU {cpu[0] * 1000 / len(lat):.1f} ms per referral", flush=True)
            for name, values in zip(HOP_NAMES, zip(*hops)):
                ordered = sorted(values)
                print(f"  {name:24} p50 {statistics.median(ordered):6.0f} ms  p99 {pct(ordered, 99):6.0f} ms", flush=True)


if __name__ == "__main__":
    main()
