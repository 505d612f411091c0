"""Benchmark: what `eoc up` (all-in-one) spends at rest: CPU per second with no requests, after it has settled.

Run: .venv/bin/python bench/idle.py [--settle 15] [--seconds 20] [--ref REF]
At rest the process still polls: each consumer fetches (Tansu answers an empty fetch only when its wait
expires) and polls its fetched records, sends heartbeats, and each relay and the broker watch wake on their
timers. `--ref REF` measures a git commit the same way in the same run, alternating.
"""

from __future__ import annotations

import argparse
import time

from _common import checkout, cpu_seconds, platform


def idle_cpu(ref: str | None, settle: float, seconds: float) -> float:
    """CPU milliseconds per second of `eoc up` at rest."""
    with checkout(ref) as code, platform(env=code) as (_base, _data_dir, proc):
        time.sleep(settle)
        used, started = cpu_seconds(proc.pid), time.perf_counter()
        time.sleep(seconds)
        return (cpu_seconds(proc.pid) - used) * 1000 / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settle", type=float, default=15)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--ref", help="a git commit to measure the same way in the same run")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    for _ in range(args.rounds):
        for ref in ([args.ref] if args.ref else []) + [None]:
            print(f"[{ref or 'this tree'}] eoc up at rest: {idle_cpu(ref, args.settle, args.seconds):.0f} ms of CPU "
                  f"per second", flush=True)


if __name__ == "__main__":
    main()
