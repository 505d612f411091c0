"""Seconds from `eoc up` to all four readyz 200 (all-in-one on SQLite; `--distributed` for PostgreSQL).

Goal: ≤ 5 s on the development machine. Runs cold starts on fresh data dirs, then warm starts on the
first one's data. The machine is shared: each figure comes with the CPU seconds that `eoc up` and its
children (the broker; in distributed mode the service processes too) used until ready, steadier than
wall time, and with the start-up of a FastAPI hello app (one uvicorn process, from spawn to its first
200) measured in the same run.

Run: .venv/bin/python bench/startup.py [--runs 3] [--distributed] [--compare REF]
`--compare REF` measures a git commit (e.g. main) too, alternating with the working tree run by run,
so both see the same load; REF may also be the directory of a checkout (one whose bytecode was compiled,
as `make install` does, for a like-for-like figure).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HELLO_APP, checkout, cpu_seconds, free_port, src_path  # noqa: E402

EOC = Path(sys.executable).parent / "eoc"
PREFIXES = ("referrals", "eligibility", "outcomes", "finance")


def _until_ready(process: subprocess.Popen[bytes], urls: list[str], started: float, timeout: float) -> tuple[float, float]:
    pending = set(urls)
    with httpx.Client(timeout=1) as client:
        while pending and time.monotonic() - started < timeout:
            if process.poll() is not None:
                raise SystemExit(f"{process.args!r} exited with {process.returncode}")
            for url in list(pending):
                try:
                    if client.get(url).status_code == 200:
                        pending.discard(url)
                except httpx.HTTPError:
                    pass
            if pending:
                time.sleep(0.02)
    if pending:
        raise SystemExit(f"not ready within {timeout}s: {sorted(pending)}")
    return time.monotonic() - started, cpu_seconds(process.pid, descendants=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def seconds_to_ready(data_dir: Path, distributed: bool, env: dict[str, str], timeout: float = 120) -> tuple[float, float]:
    """(seconds, CPU seconds of `eoc up` and its children) from the command to all four readyz 200."""
    port = free_port()
    argv = [str(EOC), "up", "--port", str(port), "--data-dir", str(data_dir)]
    if distributed:
        argv += ["--distributed", "--database-prefix", f"bench_startup_{data_dir.name}_"]
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **env})
    try:
        return _until_ready(process, [f"http://127.0.0.1:{port}/{p}/readyz" for p in PREFIXES], started, timeout)
    finally:
        _stop(process)


def hello_start() -> float:
    """Seconds from spawning a FastAPI hello app under uvicorn to its first 200: the floor of any start."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "hello_app.py").write_text(HELLO_APP)
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "hello_app:app", "--port", str(port), "--host", "127.0.0.1",
             "--no-access-log", "--log-level", "warning"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return _until_ready(process, [f"http://127.0.0.1:{port}/hello"], started, 60)[0]
        finally:
            _stop(process)


def _drop_databases(names: list[str]) -> None:
    import asyncio

    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            for name in names:
                for row in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", f"bench_startup_{name}_%"):
                    await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def _summary(label: str, figures: list[tuple[float, float]]) -> str:
    seconds = [s for s, _ in figures]
    cpu = [c for _, c in figures]
    return (f"{label} {', '.join(f'{s:.1f}' for s in seconds)} s (median {statistics.median(seconds):.1f}; "
            f"CPU {', '.join(f'{c:.1f}' for c in cpu)} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--distributed", action="store_true")
    parser.add_argument("--compare", help="a git commit to measure too (e.g. main), alternating run by run")
    args = parser.parse_args()
    mode = "distributed" if args.distributed else "all-in-one"
    with tempfile.TemporaryDirectory(prefix="eoc-bench-startup-") as tmp:
        compare_dir = Path(args.compare) if args.compare and Path(args.compare).is_dir() else None
        with checkout(None if compare_dir else args.compare) as base_env:
            if compare_dir:
                base_env = {"PYTHONPATH": f"{src_path(compare_dir)}{os.pathsep}{compare_dir / 'dashboard' / 'src'}",
                            "EOC_GATEWAY_CONF": str(compare_dir / "deploy" / "gateway" / "nginx.conf")}
            subjects = [("this tree", {}, "t")] + ([(args.compare, base_env, "b")] if args.compare else [])
            cold: dict[str, list[tuple[float, float]]] = {label: [] for label, _e, _t in subjects}
            warm: dict[str, list[tuple[float, float]]] = {label: [] for label, _e, _t in subjects}
            hello = [hello_start()]
            try:
                for i in range(args.runs):
                    for label, env, tag in subjects:
                        cold[label].append(seconds_to_ready(Path(tmp) / f"{tag}{i}", args.distributed, env))
                hello.append(hello_start())
                for _i in range(args.runs):
                    for label, env, tag in subjects:
                        warm[label].append(seconds_to_ready(Path(tmp) / f"{tag}0", args.distributed, env))
                hello.append(hello_start())
            finally:
                if args.distributed:
                    _drop_databases([f"{tag}{i}" for _l, _e, tag in subjects for i in range(args.runs)])
    floor = statistics.median(hello)
    print(f"{mode}: eoc up → all four readyz 200 (goal ≤ 5 s); a FastAPI hello app starts in "
          f"{', '.join(f'{h:.1f}' for h in hello)} s in the same run")
    for label, _e, _t in subjects:
        print(f"  {label}: {_summary('cold', cold[label])}; {_summary('warm (same data)', warm[label])}; "
              f"median cold = {statistics.median(s for s, _ in cold[label]) / floor:.1f}× the hello start")


if __name__ == "__main__":
    main()
