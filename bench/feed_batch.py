"""Benchmark: partner feed batches (1,000 events each) per second on PostgreSQL, against a hello endpoint.

Run: .venv/bin/python bench/feed_batch.py [--seconds 10] [--size 1000] [--connections 2] [--ref REF]
        [--profile FILE] [--no-single] [--rounds N]
`eoc up --distributed`, straight to referral-svc's own port; every event new and matched to a child that
exists, so each one also writes a `partner.event.received` to the outbox (which the relay publishes
meanwhile, in the same process). Goal: ≥ 20,000 events/s.

On 2 cores the processes share the machine, so the CPU each one spends per batch bounds the wall-clock rate:
printed for referral-svc (relay included), its PostgreSQL backends, PostgreSQL's own writers (WAL writer,
checkpointer, background writer: shared with anything else on the server), the Tansu broker and wrk (which
builds each 1,000-event body in Lua). The relay's pace is printed too: rows published during the run and
the backlog left at its end (a relay that does not keep up makes the events/s figure flatter the endpoint).
`--ref REF` measures a git commit (e.g. main) the same way in the same run; `--profile FILE` records
referral-svc with py-spy (`--format raw`, summarise with bench/_flame.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

from _common import checkout, cpu_seconds, hello_cpu, hello_rps, make_child, pid_on_port, platform, service_ports, token, wrk

BATCH_LUA = textwrap.dedent(
    """
    -- the body is built once with a placeholder in every external_id; each request puts its own number in
    -- (one gsub in C), so wrk's own CPU stays small next to what it measures
    local counter = 0
    local size = %(size)d
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer %(token)s"
    local parts = {}
    for i = 1, size do
      parts[i] = '{"external_id":"%(prefix)s-@-' .. i .. '","occurred_at":"2026-11-30T22:00:00Z",'
        .. '"child":{"la_child_id":"%(la_child_id)s"},"kind":"missing_episode"}'
    end
    local template = '{"events":[' .. table.concat(parts, ",") .. ']}'
    request = function()
      counter = counter + 1
      local body = template:gsub("@", counter)
      return wrk.format(nil, "/referrals/feeds/police/events/batch", nil, body)
    end
    """
)

PG_WRITERS = ("checkpointer", "background writer", "walwriter")


def _metric(port: int, prefix: str, ops_token: str, name: str, selector: str) -> float:
    """The sum of a counter's samples whose labels include `selector`, from a service's /metrics."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/{prefix}/metrics",
                                     headers={"Authorization": f"Bearer {ops_token}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a local service
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") and selector in line)


def _titled(*parts: str) -> list[int]:
    """Processes whose command line (PostgreSQL sets it to its process title) contains every part."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if all(p in cmdline for p in parts):
                found.append(int(entry.name))
    return found


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _pg_counts(database: str) -> tuple[int, ...]:
    """(transactions committed, rows inserted, rows updated, rows read) of the database so far (PostgreSQL
    reports them at most a second late)."""
    import asyncpg

    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    try:
        row = await conn.fetchrow("SELECT xact_commit, tup_inserted, tup_updated, tup_fetched + tup_returned AS read "
                                  "FROM pg_stat_database WHERE datname = $1", database)
        return tuple(int(v) for v in row.values())
    finally:
        await conn.close()


async def _outbox(database: str) -> tuple[int, int]:
    """(rows published, rows waiting) in referral-svc's outbox."""
    import asyncpg

    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    try:
        row = await conn.fetchrow("SELECT count(published_at) AS done, count(*) - count(published_at) AS waiting FROM outbox")
        return int(row["done"]), int(row["waiting"])
    finally:
        await conn.close()


@contextlib.contextmanager
def _profiled(pid: int, path: str | None, seconds: int) -> Iterator[None]:
    if not path:
        yield
        return
    spy = Path(sys.executable).parent / "py-spy"
    proc = subprocess.Popen([str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
                             "--duration", str(seconds), "--output", path, "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.wait(timeout=seconds + 30)


def measure(label: str, env: dict[str, str], args: argparse.Namespace, hello: float, hello_per_cpu: float) -> None:
    with platform(distributed=True, env=env) as (base, data_dir, proc):
        ports = service_ports(data_dir)
        target = f"http://127.0.0.1:{ports['referral']}/"
        _family, _child, la_child_id = make_child(base, token(data_dir, "social_worker"))
        police = token(data_dir, "partner_feed", "police")
        ops = token(data_dir, "ops")
        argv = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        database = argv[argv.index(b"--database-prefix") + 1].decode() + "referral"

        def script(size: int) -> str:
            return BATCH_LUA % {"token": police, "la_child_id": la_child_id, "size": size,
                                "prefix": uuid.uuid4().hex[:8]}

        pid = pid_on_port(ports["referral"])
        children = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                   text=True).stdout.split()]
        broker = [p for p in children if Path(f"/proc/{p}/comm").read_text().startswith("tansu")]
        others = [p for p in children if p not in broker and p != pid]  # the other services, dashboard, nginx
        backends, writers = _titled(f" {database} "), [p for w in PG_WRITERS for p in _titled(f": {w}")]

        def cpu_now() -> tuple[float, ...]:
            return (cpu_seconds(pid), _cpu(backends), _cpu(writers), _cpu(broker), _children_cpu(), _cpu(others))

        # What each process spends with nothing to do (consumers polling, metadata refreshes, heartbeats), to
        # tell the work a batch costs from the background the run's seconds also pay for.
        idle_before = cpu_now()
        time.sleep(args.idle)
        idle = [1000 * (a - b) / args.idle for a, b in zip(cpu_now(), idle_before, strict=True)]
        wrk(target, seconds=3, connections=args.connections, script=script(args.size))  # warm-up
        time.sleep(2)  # the warm-up's events published, so the run's relay figure is its own
        backends = _titled(f" {database} ")  # the pool's connections opened by the warm-up too
        published_before, _ = asyncio.run(_outbox(database))
        counts_before = asyncio.run(_pg_counts(database))
        before = cpu_now()
        outcomes_before = cpu_seconds(pid_on_port(ports["outcomes"]))
        with _profiled(pid, args.profile and f"{args.profile}.{label}", args.seconds):
            r = wrk(target, seconds=args.seconds, connections=args.connections, script=script(args.size), timeout=30)
            # before py-spy is reaped: its CPU would count as wrk's (both are this process's children)
            after = cpu_now()
        published, waiting = asyncio.run(_outbox(database))
        drained_at = time.monotonic()
        while waiting and time.monotonic() - drained_at < 60:
            time.sleep(0.2)
            _, waiting = asyncio.run(_outbox(database))
        drain = time.monotonic() - drained_at
        # The announcements' reader (outcomes-svc) may still be behind when the relay is done: wait until it has
        # read every one, and count its CPU from the run's start to then, catch-up included.
        outcomes_pid = pid_on_port(ports["outcomes"])
        caught_up_at = time.monotonic()
        while (_metric(ports["outcomes"], "outcomes", ops, "eoc_events_consumed_total", 'topic="partner.event.received"')
               < _metric(ports["referral"], "referrals", ops, "eoc_events_published_total",
                         'topic="partner.event.received"')
               and time.monotonic() - caught_up_at < 600):
            time.sleep(0.2)
        catch_up = time.monotonic() - caught_up_at
        outcomes_cpu = cpu_seconds(outcomes_pid) - outcomes_before
        time.sleep(1)  # PostgreSQL's statistics of the run's last transactions
        counts = [a - b for a, b in zip(asyncio.run(_pg_counts(database)), counts_before, strict=True)]
        events = r["rps"] * args.size
        total_events = events * args.seconds
        used = [a - b for a, b in zip(after, before, strict=True)]
        svc = total_events / max(used[0], 1e-9)
        print(f"[{label}] batch of {args.size}: {r['rps']:.1f} batches/s = {events:,.0f} events/s "
              f"({events / hello:.2f} events per hello request), mean {r['mean_ms']:.0f} ms per batch"
              + (f", {r['non2xx']:.0f} non-2xx" if r["non2xx"] else ""), flush=True)
        print(f"[{label}]   {svc:,.0f} events per CPU-second of referral-svc ({svc / hello_per_cpu:.2f} per hello "
              f"request, CPU for CPU)", flush=True)
        per_batch = [1000 * u / max(r["rps"] * args.seconds, 1e-9) for u in used]
        names = ("referral-svc", f"its {len(backends)} PG backends", "PG writers", "Tansu", "wrk",
                 "other services (outcomes-svc reads the events)")
        print(f"[{label}]   CPU ms per batch: " + ", ".join(f"{n} {c:.1f}" for n, c in zip(names, per_batch, strict=True))
              + f"; sum {sum(per_batch):.1f} ms = {2000 / max(sum(per_batch), 1e-9) * args.size:,.0f} events/s on 2 cores",
              flush=True)
        print(f"[{label}]   idle, CPU ms per second: " + ", ".join(f"{n.split(' (')[0]} {c:.0f}"
                                                           for n, c in zip(names, idle, strict=True) if n != "wrk"),
              flush=True)
        batches = max(r["rps"] * args.seconds, 1e-9)
        print(f"[{label}]   PostgreSQL per batch (the run and the relay's drain after it): "
              f"{counts[0] / batches:.1f} transactions, {counts[1] / batches:,.0f} rows inserted, "
              f"{counts[2] / batches:,.0f} updated, {counts[3] / batches:,.0f} read", flush=True)
        print(f"[{label}]   relay: {(published - published_before) / args.seconds:,.0f} events/s published during "
              f"the run; {waiting if waiting else 'nothing'} left after {drain:.1f} s", flush=True)
        print(f"[{label}]   outcomes-svc (reads every announcement): caught up {catch_up + drain:.1f} s after the "
              f"run ended; {1000 * outcomes_cpu / batches:.1f} ms of its CPU per batch, catch-up included", flush=True)
        if not args.no_single:
            single = wrk(target, seconds=args.seconds, connections=16, script=script(1))
            print(f"[{label}] batch of 1: {single['rps']:,.0f} events/s ({100 * single['rps'] / hello:.1f} % of hello)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--ref", help="a git commit to measure the same way in the same run")
    parser.add_argument("--profile", help="py-spy raw profile of referral-svc during the run: FILE.<label>")
    parser.add_argument("--rounds", type=int, default=1, help="measure each tree this many times, alternating")
    parser.add_argument("--idle", type=float, default=5, help="seconds of idle CPU measured before the load")
    parser.add_argument("--no-single", action="store_true", help="skip the batch-of-1 figure")
    args = parser.parse_args()
    hello, hello_per_cpu = hello_cpu(args.seconds)
    print(f"hello endpoint: {hello:,.0f} req/s, {hello_per_cpu:,.0f} requests per CPU-second; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    with checkout(args.ref) as env:
        for round_ in range(args.rounds):
            # alternating which goes first, so neither always meets the machine's load in the same state
            order = [("this tree", {}), (args.ref, env)] if args.ref else [("this tree", {})]
            for label, tree_env in order if round_ % 2 else order[::-1]:
                measure(label, tree_env, args, hello, hello_per_cpu)
    print(f"hello endpoint again: {hello_rps(args.seconds):,.0f} req/s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
