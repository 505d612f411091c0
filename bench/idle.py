"""Benchmark: what `eoc up` (all-in-one, or `--distributed`) spends at rest: CPU per second with no requests, after it has settled.

Run: .venv/bin/python bench/idle.py [--settle 15] [--seconds 20] [--ref REF] [--distributed]
At rest the process still polls: each consumer fetches (Tansu answers an empty fetch only when its wait
expires) and polls its fetched records, sends heartbeats, and each relay and the broker watch wake on their
timers. `--ref REF` measures a git commit the same way in the same run, alternating.
"""

from __future__ import annotations

import argparse
import time

from _common import checkout, cpu_seconds, platform


def idle_cpu(ref: str | None, settle: float, seconds: float, distributed: bool = False) -> tuple[float, float]:
    """CPU milliseconds per second at rest: of `eoc up`'s own process (all-in-one: every service), and of it with
    all its children (the Tansu broker; distributed: the services' processes, the dashboard and the gateway)."""
    with checkout(ref) as code, platform(env=code, distributed=distributed) as (_base, _data_dir, proc):
        time.sleep(settle)
        own, whole, started = cpu_seconds(proc.pid), cpu_seconds(proc.pid, descendants=True), time.perf_counter()
        time.sleep(seconds)
        elapsed = time.perf_counter() - started
        return ((cpu_seconds(proc.pid) - own) * 1000 / elapsed,
                (cpu_seconds(proc.pid, descendants=True) - whole) * 1000 / elapsed)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settle", type=float, default=15)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--ref", help="a git commit to measure the same way in the same run")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--distributed", action="store_true", help="`eoc up --distributed` (PostgreSQL)")
    args = parser.parse_args()
    for _ in range(args.rounds):
        for ref in ([args.ref] if args.ref else []) + [None]:
            own, whole = idle_cpu(ref, args.settle, args.seconds, args.distributed)
            print(f"[{ref or 'this tree'}] eoc up{' --distributed' if args.distributed else ''} at rest: "
                  f"{whole:.0f} ms of CPU per second with the broker and every child process "
                  f"({own:.0f} in eoc up's own process)", flush=True)


if __name__ == "__main__":
    main()
