"""Benchmark: all-in-one `eoc up` — time from POST /referrals to the decision visible on GET, and idle memory.

Run: .venv/bin/python bench/platform_latency.py [--referrals 50]
Prints figures; not part of the test run. Goal: decision visible within about a second (p95).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from journeys import child_body, family_body, referral_body  # noqa: E402

from eoc_shared.broker import free_port  # noqa: E402

EOC = Path(sys.executable).parent / "eoc"


def rss_kb(pid: int) -> int:
    out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)], capture_output=True, text=True).stdout
    return sum(int(x) for x in out.split())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--referrals", type=int, default=50)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        proc = subprocess.Popen([str(EOC), "up", "--port", str(port), "--data-dir", data_dir],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            started = time.perf_counter()
            while True:
                try:
                    if all(httpx.get(f"{base}/{p}/readyz", timeout=1).status_code == 200
                           for p in ("referrals", "eligibility", "outcomes", "finance")):
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            print(f"start-up to ready: {time.perf_counter() - started:.1f} s")
            time.sleep(5)
            print(f"idle memory (eoc up + broker, RSS): {rss_kb(proc.pid) / 1024:.1f} MiB")
            token = subprocess.run([str(EOC), "token", "--role", "social_worker", "--data-dir", data_dir],
                                   capture_output=True, text=True, check=True).stdout.strip()
            latencies = []
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
                for _ in range(args.referrals):
                    family = client.post("/referrals/families", json=family_body()).json()
                    child = client.post(f"/referrals/families/{family['id']}/children",
                                        json=child_body(la_child_id=f"B-{uuid.uuid4().hex[:12]}")).json()
                    t0 = time.perf_counter()
                    referral = client.post("/referrals", json=referral_body(family["id"], [child["id"]])).json()
                    while not client.get(f"/referrals/{referral['id']}").json()["eligibility"]:
                        time.sleep(0.005)
                    latencies.append((time.perf_counter() - t0) * 1000)
            latencies.sort()
            p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
            print(f"POST /referrals → decision visible, {len(latencies)} referrals: "
                  f"median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms")
            print(f"memory after the run: {rss_kb(proc.pid) / 1024:.1f} MiB")
        finally:
            proc.send_signal(signal.SIGINT)
            print(f"eoc up exit code after SIGINT: {proc.wait(timeout=30)}")


if __name__ == "__main__":
    main()
