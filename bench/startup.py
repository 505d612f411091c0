"""Seconds from `eoc up` to all four readyz 200 (all-in-one on SQLite; `--distributed` for PostgreSQL).

Goal: ≤ 5 s on the development machine. Runs a few cold starts on fresh data dirs and one warm start.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

EOC = Path(sys.executable).parent / "eoc"
PREFIXES = ("referrals", "eligibility", "outcomes", "finance")


def seconds_to_ready(port: int, data_dir: Path, distributed: bool, timeout: float = 120) -> float:
    argv = [str(EOC), "up", "--port", str(port), "--data-dir", str(data_dir)]
    if distributed:
        argv += ["--distributed", "--database-prefix", f"bench_startup_{port}_"]
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pending = set(PREFIXES)
        with httpx.Client(timeout=1) as client:
            while pending and time.monotonic() - started < timeout:
                if process.poll() is not None:
                    raise SystemExit(f"eoc up exited with {process.returncode}")
                for prefix in list(pending):
                    try:
                        if client.get(f"http://127.0.0.1:{port}/{prefix}/readyz").status_code == 200:
                            pending.discard(prefix)
                    except httpx.HTTPError:
                        pass
                if pending:
                    time.sleep(0.05)
        if pending:
            raise SystemExit(f"not ready within {timeout}s: {sorted(pending)}")
        return time.monotonic() - started
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=11340)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--distributed", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eoc-bench-startup-") as tmp:
        cold = [seconds_to_ready(args.port, Path(tmp) / f"cold{i}", args.distributed) for i in range(args.runs)]
        warm = seconds_to_ready(args.port, Path(tmp) / "cold0", args.distributed)
    mode = "distributed" if args.distributed else "all-in-one"
    print(f"{mode}: eoc up → all four readyz 200: cold {', '.join(f'{s:.1f}' for s in cold)} s; "
          f"warm (same data) {warm:.1f} s  (goal ≤ 5 s)")


if __name__ == "__main__":
    main()
