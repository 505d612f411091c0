"""Operability in the run modes as operators run them: `eoc up --distributed` on a PostgreSQL that is stopped
under it (a private cluster), one trace followed across services through the gateway, `eoc dlq` on the CLI;
and `eoc up` (all-in-one, SQLite) with its metrics and dead-letter API.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from journeys import child_body, family_body, referral_body

from eoc_shared.broker import free_port
from eoc_shared.testing.fixtures import event_probe
from eoc_shared.testing.private_postgres import PrivatePostgres

pytestmark = pytest.mark.e2e
EOC = Path(sys.executable).parent / "eoc"
PREFIXES = ("referrals", "eligibility", "outcomes", "finance")
SERVICES = ("referral", "eligibility", "outcomes", "finance")


def _token(data_dir: Path, role: str) -> str:
    return subprocess.run([str(EOC), "token", "--role", role, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, check=True).stdout.strip()


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    pending = set(PREFIXES)
    while pending:
        assert process.poll() is None, f"eoc up exited with {process.returncode}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"not ready: {pending}\n{log.read_text()[-3000:]}"
        for p in list(pending):
            try:
                if httpx.get(f"{base}/{p}/readyz", timeout=2).status_code == 200:
                    pending.discard(p)
            except httpx.HTTPError:
                pass
        time.sleep(0.3)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _log_lines(log: Path) -> list[dict]:
    lines = []
    for raw in log.read_text(errors="replace").splitlines():
        start = raw.find("{")
        if start >= 0:
            try:
                lines.append(json.loads(raw[start:]))
            except ValueError:
                pass
    return lines


async def _trace_on_the_bus(bootstrap: str, referral_id: str) -> dict[str, str]:
    async with event_probe(bootstrap, ["referral.created", "eligibility.decided"]) as probe:
        found: dict[str, str] = {}
        for topic in ("referral.created", "eligibility.decided"):
            await probe.wait_for(topic, lambda m: m["data"]["referral_id"] == referral_id, timeout=30)
            found[topic] = next(h["traceparent"] for t, _k, v, h in probe.messages
                                if t == topic and isinstance(v, dict) and v["data"]["referral_id"] == referral_id)
        return found


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EOC), *argv], capture_output=True, text=True, timeout=120)


def test_distributed_outage_answers_503_and_one_trace_crosses_the_services(tmp_path: Path) -> None:
    if shutil.which("nginx") is None and not os.access("/usr/sbin/nginx", os.X_OK):
        pytest.skip("nginx is not installed (.ci/run installs nginx-light)")
    pg = PrivatePostgres()
    pg.init()
    pg.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "var"
    log = tmp_path / "eoc.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(EOC), "up", "--distributed", "--port", str(port), "--data-dir", str(data_dir),
             "--database-url", pg.url],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "EOC_LOG_LEVEL": "WARNING", "EOC_OUTBOX_POLL_SECONDS": "0.2"},
        )
    try:
        _wait_ready(base, process, log)
        bootstrap = re.search(r"broker on ([0-9.:]+)", log.read_text()).group(1)
        sw = {"Authorization": f"Bearer {_token(data_dir, 'social_worker')}"}
        ops = {"Authorization": f"Bearer {_token(data_dir, 'ops')}"}
        with httpx.Client(base_url=base, timeout=30) as client:
            family = client.post("/referrals/families", json=family_body(), headers=sw).json()
            child = client.post(f"/referrals/families/{family['id']}/children", json=child_body(), headers=sw).json()

            # one trace: POST /referrals → referral.created → eligibility-svc decides → eligibility.decided
            trace_id = uuid.uuid4().hex
            traced = {**sw, "traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"}
            r = client.post("/referrals", json=referral_body(family["id"], [child["id"]]), headers=traced)
            assert r.status_code == 201, r.text
            referral_id = r.json()["id"]
            on_bus = asyncio.run(_trace_on_the_bus(bootstrap, referral_id))
            assert {t: tp.split("-")[1] for t, tp in on_bus.items()} == {
                "referral.created": trace_id, "eligibility.decided": trace_id}
            print(f"\ntrace {trace_id}: POST /referrals → referral.created → eligibility.decided "
                  f"({on_bus['eligibility.decided']})")

            # the database stops under every service
            pg.stop()
            reads = {
                "referral": lambda: client.get(f"/referrals/families/{family['id']}", headers=sw),
                "eligibility": lambda: client.get("/eligibility/rules", headers=ops),
                "outcomes": lambda: client.get("/outcomes/audit", params={"child_id": child["id"]}, headers=ops),
                "finance": lambda: client.get("/finance/rates/2024", headers=ops),
            }
            statuses = []
            for _ in range(20):
                w = client.post("/referrals/families", json=family_body(), headers=sw)
                statuses.append(w.status_code)
                assert w.status_code == 503 and int(w.headers["retry-after"]) > 0, w.text
                assert "database" in w.json()["detail"], "the service answered, not the gateway"
            for name, read in reads.items():
                got = read()
                assert got.status_code == 503 and got.headers["retry-after"] and "database" in got.json()["detail"], (
                    name, got.status_code, got.text)
            assert {p: httpx.get(f"{base}/{p}/readyz", timeout=10).status_code for p in PREFIXES} == dict.fromkeys(
                PREFIXES, 503)

            pg.start()
            back = time.monotonic()
            recovered = None
            while time.monotonic() - back < 5.0:
                w = client.post("/referrals/families", json=family_body(), headers=sw)
                if w.status_code == 201:
                    recovered = time.monotonic() - back
                    break
                assert w.status_code == 503, w.text
                time.sleep(0.1)
            assert recovered is not None, "writes back within 5 s of the database's return, without a restart"
            assert all(read().status_code == 200 for read in reads.values())
            print(f"outage (distributed): {len(statuses)} writes → {sorted(set(statuses))}, every service's reads 503, "
                  f"writes back {recovered:.2f}s after PostgreSQL returned")

        listed = _cli("dlq", "list", "--url", base, "--data-dir", str(data_dir))
        assert listed.returncode == 0, listed.stderr
        bad = _cli("dlq", "replay", "--url", base, "--data-dir", str(data_dir), "--topic", "referral.created",
                   "--consumer", "nobody")
        assert bad.returncode == 2 and "<service>.<topic>" in bad.stderr
    finally:
        _stop(process)
        pg.destroy()
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]
    lines = _log_lines(log)
    for name in SERVICES:
        started = [x for x in lines if x.get("event") == "dependency.unavailable" and x.get("service") == name
                   and x.get("dependency") == "database"]
        assert len(started) == 1, (name, started)
        assert any(x.get("event") == "dependency.recovered" and x.get("service") == name for x in lines), name
    assert not any(x.get("level") == "error" and x.get("event") == "request.failed" for x in lines)


def test_all_in_one_serves_metrics_dead_letters_and_trace_headers(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "var"
    log = tmp_path / "eoc.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(EOC), "up", "--port", str(port), "--data-dir", str(data_dir)],
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, "EOC_LOG_LEVEL": "WARNING"})
    try:
        _wait_ready(base, process, log)
        bootstrap = re.search(r"broker on ([0-9.:]+)", log.read_text()).group(1)
        sw = {"Authorization": f"Bearer {_token(data_dir, 'social_worker')}"}
        ops = {"Authorization": f"Bearer {_token(data_dir, 'ops')}"}
        with httpx.Client(base_url=base, timeout=30) as client:
            family = client.post("/referrals/families", json=family_body(), headers=sw).json()
            child = client.post(f"/referrals/families/{family['id']}/children", json=child_body(), headers=sw).json()
            trace_id = uuid.uuid4().hex
            r = client.post("/referrals", json=referral_body(family["id"], [child["id"]]),
                            headers={**sw, "traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"})
            assert r.status_code == 201, r.text
            on_bus = asyncio.run(_trace_on_the_bus(bootstrap, r.json()["id"]))
            assert {tp.split("-")[1] for tp in on_bus.values()} == {trace_id}
            promtool = shutil.which("promtool")
            for p in PREFIXES:
                body = client.get(f"/{p}/metrics", headers=ops)
                assert body.status_code == 200
                assert "eoc_http_request_duration_seconds_bucket" in body.text
                if promtool:
                    checked = subprocess.run([promtool, "check", "metrics"], input=body.text, capture_output=True,
                                             text=True)
                    assert checked.returncode == 0, checked.stdout + checked.stderr
                assert client.get(f"/{p}/dlq", headers=ops).json() == []
        listed = _cli("dlq", "list", "--url", base, "--data-dir", str(data_dir))
        assert listed.returncode == 0 and "no dead letters" in listed.stdout, listed.stdout + listed.stderr
    finally:
        _stop(process)
