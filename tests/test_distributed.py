"""`eoc up --distributed` as ops run it: one process per service, PostgreSQL per service, nginx in front.

Starts the real thing as a subprocess on a free port with its own data dir and uniquely named
databases (dropped afterwards), then goes through the gateway only.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from journeys import child_body, family_body, post_burst, referral_body, undecided_after

from eoc_platform import registry
from eoc_shared.broker import free_port
from eoc_shared.testing.fixtures import server_url
from eoc_shared.testing.harness import wait_ready

pytestmark = pytest.mark.e2e
EOC = Path(sys.executable).parent / "eoc"
SERVICES = registry.NAMES
PREFIXES = registry.PREFIXES


def _nginx_or_skip() -> None:
    if shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("nginx is not installed; .ci/run installs nginx-light")
    pytest.skip("nginx is not on PATH (apt-get install nginx-light)")


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = (int(x) for x in line.split())
        children.setdefault(pp, []).append(p)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "zombie" not in status.lower()


async def _drop(names: list[str]) -> None:
    conn = await asyncpg.connect(server_url(), timeout=10)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    base: str
    data_dir: Path
    log: Path
    started_in: float
    prefix: str = ""

    def token(self, role: str, source: str | None = None) -> str:
        argv = [str(EOC), "token", "--role", role, "--data-dir", str(self.data_dir)]
        if source:
            argv += ["--source", source]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def distributed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    _nginx_or_skip()
    port = free_port()
    data_dir = tmp_path_factory.mktemp("distributed") / "var"
    prefix = f"eoc_t{uuid.uuid4().hex[:8]}_"
    log = data_dir.parent / "eoc.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(EOC), "up", "--distributed", "--port", str(port), "--data-dir", str(data_dir),
             "--database-url", server_url(), "--database-prefix", prefix],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "EOC_LOG_LEVEL": "WARNING", "EOC_OUTBOX_POLL_SECONDS": "0.2"},
        )
    running = Running(process, f"http://127.0.0.1:{port}", data_dir, log, 0.0, prefix)
    try:
        wait_ready(running.base, PREFIXES, timeout=180, process=process, log=log)
        running.started_in = time.monotonic() - started
        print(f"\ndistributed: ready through the gateway in {running.started_in:.1f}s")
        yield running
    finally:
        if process.poll() is None:
            for pid in _descendants(process.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.kill()
            process.wait()
        asyncio.run(_drop([f"{prefix}{s}" for s in SERVICES]))


def test_every_service_runs_alone_on_its_own_postgres_database(distributed: Running) -> None:
    children = subprocess.run(["ps", "-ww", "-o", "args=", "--ppid", str(distributed.process.pid)],
                              capture_output=True, text=True).stdout
    for svc in SERVICES:
        assert f"--factory {svc}_svc.app:create_app" in children
    assert "nginx" in children
    assert not list(distributed.data_dir.glob("*.sqlite3")), "distributed mode uses PostgreSQL, never SQLite"
    index = httpx.get(distributed.base + "/platform").json()
    assert set(index["services"]) == set(PREFIXES)
    assert "--factory eoc_dashboard.app:create_app" in children
    sign_in = httpx.get(distributed.base + "/", follow_redirects=True)  # the dashboard, through the gateway
    assert sign_in.status_code == 200 and 'name="role"' in sign_in.text
    assert httpx.get(distributed.base + "/stylesheets/govuk-frontend.min.css").status_code == 200


def test_a_referral_gets_its_eligibility_decision_through_the_gateway(distributed: Running) -> None:
    sw = {"Authorization": f"Bearer {distributed.token('social_worker')}"}
    with httpx.Client(base_url=distributed.base, headers=sw, timeout=10) as client:
        family = client.post("/referrals/families", json=family_body())
        assert family.status_code == 201, family.text
        child = client.post(f"/referrals/families/{family.json()['id']}/children", json=child_body())
        assert child.status_code == 201, child.text
        r = client.post("/referrals", json=referral_body(family.json()["id"], [child.json()["id"]]))
        assert r.status_code == 201, r.text
        posted = time.perf_counter()
        shown: dict = {}
        while time.perf_counter() - posted < 30:
            shown = client.get(f"/referrals/{r.json()['id']}").json()
            if shown["eligibility"]:
                break
            time.sleep(0.02)
        print(f"distributed: POST /referrals → decision visible: {(time.perf_counter() - posted) * 1000:.0f} ms")
        assert shown["eligibility"] and shown["eligibility"]["recommended"] == "MST"
        decision = client.get(f"/eligibility/decisions/{r.json()['id']}")
        assert decision.status_code == 200 and decision.json()["recommended"] == "MST"
        assert client.get("/eligibility/docs").status_code == 200
        assert client.get("/finance/openapi.json").status_code == 200
        assert client.get("/outcomes/openapi.json").status_code == 200


def test_the_gateway_passes_request_ids_on_or_makes_one_and_logs_no_query(distributed: Running) -> None:
    mine = f"e2e-{uuid.uuid4().hex}"
    r = httpx.get(f"{distributed.base}/referrals/healthz?child_id=secret-{mine}", headers={"X-Request-ID": mine})
    assert r.status_code == 200 and r.headers["x-request-id"] == mine
    made = httpx.get(f"{distributed.base}/eligibility/healthz").headers["x-request-id"]
    assert len(made) == 32 and made != mine
    bad = httpx.get(f"{distributed.base}/finance/healthz", headers={"X-Request-ID": "x" * 500}).headers["x-request-id"]
    assert len(bad) == 32
    assert len(r.headers.get_list("x-request-id")) == 1
    access_log = distributed.data_dir / "gateway" / "access.log"
    deadline = time.monotonic() + 5
    while mine not in access_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = [json.loads(line) for line in access_log.read_text().splitlines() if mine in line]
    assert lines and lines[0]["path"] == "/referrals/healthz" and lines[0]["status"] == 200
    assert "secret-" not in access_log.read_text()


def test_the_gateway_limits_bodies_and_unknown_paths(distributed: Running) -> None:
    big = httpx.post(f"{distributed.base}/referrals/families", content=b"x" * (3 * 1024 * 1024),
                     headers={"content-type": "application/json"})
    assert big.status_code == 413 and big.headers["content-type"].startswith("application/problem+json")
    # streamed without a Content-Length, 10 MB in 1 MB chunks: refused as well (contract v1.1)
    chunked = httpx.post(f"{distributed.base}/referrals/families", content=iter([b"x" * (1024 * 1024)] * 10),
                         headers={"content-type": "application/json"})
    assert chunked.status_code == 413 and chunked.headers["content-type"].startswith("application/problem+json")
    nowhere = httpx.get(f"{distributed.base}/nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["status"] == 404


def test_a_flood_on_partner_feeds_is_answered_429(distributed: Running) -> None:
    headers = {"Authorization": f"Bearer {distributed.token('partner_feed', source='police')}"}
    url = f"{distributed.base}/referrals/feeds/police/events"

    def post(client: httpx.Client, i: int) -> httpx.Response:
        return client.post(url, json={"external_id": f"flood-{i}"}, headers=headers)  # invalid: 422 unless limited

    with httpx.Client(timeout=10, limits=httpx.Limits(max_connections=20)) as client, ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: post(client, i), range(150)))
    codes = [a.status_code for a in answers]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, f"no 429 in {sorted(set(codes))}"
    assert set(codes) <= {422, 429}, sorted(set(codes))
    assert limited[0].headers["content-type"].startswith("application/problem+json")
    assert limited[0].headers["retry-after"] == "1" and limited[0].headers["x-request-id"]
    # Other paths are not limited.
    assert httpx.get(f"{distributed.base}/referrals/healthz").status_code == 200


def _service_pid(running: Running, service: str) -> int:
    for pid in _descendants(running.process.pid):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f"--factory {service}_svc.app:create_app" in args:
            return pid
    raise AssertionError(f"no {service}-svc process")


async def _per_key(database: str, sql: str) -> dict[str, int]:
    conn = await asyncpg.connect(server_url().rsplit("/", 1)[0] + f"/{database}", timeout=10)
    try:
        return {str(row[0]): int(row[1]) for row in await conn.fetch(sql)}
    finally:
        await conn.close()


def test_a_service_process_killed_mid_flow_is_started_again_and_loses_and_doubles_nothing(distributed: Running) -> None:
    """kill -9 of referral-svc right after a burst (its outbox not yet all sent) and of eligibility-svc while
    it decides: the runner starts each again on the same port and database; every referral is decided and
    projected once."""
    burst = 30
    sw = {"Authorization": f"Bearer {distributed.token('social_worker')}"}
    with httpx.Client(base_url=distributed.base, headers=sw, timeout=20) as client:
        families, referral_ids = post_burst(client, burst)
        killed = {name: _service_pid(distributed, name) for name in ("referral", "eligibility")}
        for pid in killed.values():
            os.kill(pid, signal.SIGKILL)

        def still_running() -> None:
            assert distributed.process.poll() is None, distributed.log.read_text()[-3000:]

        pending = undecided_after(client, referral_ids, timeout=180, still_running=still_running)
        assert not pending, f"{len(pending)} of {burst} referrals never decided"
    log = distributed.log.read_text()
    for name, pid in killed.items():
        assert f"the {name} process exited with -9; started it again" in log
        assert _service_pid(distributed, name) != pid
    decisions = asyncio.run(_per_key(f"{distributed.prefix}eligibility",
                                     "SELECT referral_id, count(*) FROM decisions GROUP BY referral_id"))
    assert all(decisions.get(r) == 1 for r in referral_ids), "one decision per referral, none twice"

    async def projected() -> dict[str, int]:
        deadline = time.monotonic() + 60
        while True:
            versions = await _per_key(f"{distributed.prefix}finance",
                                      "SELECT child_id, count(*) FROM projection_versions GROUP BY child_id")
            if all(c in versions for _f, c in families) or time.monotonic() > deadline:
                return versions
            await asyncio.sleep(0.5)

    versions = asyncio.run(projected())
    assert all(versions.get(c) == 1 for _f, c in families), "one projection per child, none twice"


def test_sigint_stops_every_process_and_exits_0(distributed: Running) -> None:
    pids = _descendants(distributed.process.pid)
    assert len(pids) >= 6, "broker, four services and nginx (master and worker)"
    stopped = time.monotonic()
    distributed.process.send_signal(signal.SIGINT)
    assert distributed.process.wait(timeout=45) == 0, distributed.log.read_text()
    print(f"distributed: SIGINT → every process stopped in {time.monotonic() - stopped:.1f}s")
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if _alive(p)], "processes outlived eoc up --distributed"
    assert "eoc: stopped" in distributed.log.read_text()
