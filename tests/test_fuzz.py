"""Fuzzing the public API (schemathesis) through a real `eoc up`: whatever is sent, no endpoint answers 5xx."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from eoc_shared.broker import free_port

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
EXAMPLES = os.environ.get("EOC_FUZZ_EXAMPLES", "15")
#: fewer against PostgreSQL, so that run stays a minute or two on a loaded machine
PG_EXAMPLES = os.environ.get("EOC_FUZZ_PG_EXAMPLES", "5")


@pytest.fixture(scope="module")
def platform_url(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(BIN / "eoc"), "up", "--port", str(port), "--data-dir", str(data_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if all(httpx.get(f"{base}/{p}/readyz", timeout=1).status_code == 200
                       for p in ("referrals", "eligibility", "outcomes", "finance")):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield base, data_dir
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


@pytest.mark.parametrize(("prefix", "role"), [
    ("referrals", "team_manager"), ("eligibility", "ops"), ("outcomes", "team_manager"), ("finance", "finance_officer"),
])
def test_no_input_makes_a_service_fail(platform_url, prefix: str, role: str) -> None:
    base, data_dir = platform_url
    token = subprocess.run([str(BIN / "eoc"), "token", "--role", role, "--data-dir", str(data_dir)],
                           capture_output=True, text=True, check=True).stdout.strip()
    result = subprocess.run(
        [str(BIN / "schemathesis"), "run", f"{base}/{prefix}/openapi.json",
         "--checks", "not_a_server_error", "--max-examples", EXAMPLES, "--generation-deterministic",
         "-H", f"Authorization: Bearer {token}", "--request-timeout", "20", "--no-color"],
        capture_output=True, text=True, timeout=900, cwd=data_dir,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.fixture(scope="module")
def referral_on_postgresql(tmp_path_factory: pytest.TempPathFactory):
    """referral-svc alone under uvicorn on its own PostgreSQL database, as a container runs it: some
    failures (a NUL byte PostgreSQL cannot store) exist only there."""
    import asyncio

    import asyncpg

    from eoc_shared.auth import ensure_dev_keypair
    from eoc_shared.broker import EmbeddedBroker
    from eoc_shared.testing.fixtures import async_url, server_url

    data_dir = tmp_path_factory.mktemp("fuzz-pg")
    ensure_dev_keypair(data_dir)
    name = f"fuzz_referral_{uuid.uuid4().hex[:12]}"

    async def database(sql: str) -> None:
        conn = await asyncpg.connect(server_url())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(database(f'CREATE DATABASE "{name}"'))
    broker = EmbeddedBroker(log_file=data_dir / "broker.log")
    broker.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EOC_REFERRAL_DATABASE_URL": async_url(name), "EOC_KAFKA_BOOTSTRAP": broker.bootstrap,
           "EOC_DATA_DIR": str(data_dir)}
    env.pop("EOC_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "referral_svc.app:create_app", "--host",
                             "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{base}/referrals/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield base, data_dir
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        broker.stop()
        asyncio.run(database(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_no_input_makes_referral_svc_on_postgresql_fail(referral_on_postgresql) -> None:
    base, data_dir = referral_on_postgresql
    token = subprocess.run([str(BIN / "eoc"), "token", "--role", "team_manager", "--data-dir", str(data_dir)],
                           capture_output=True, text=True, check=True).stdout.strip()
    result = subprocess.run(
        [str(BIN / "schemathesis"), "run", f"{base}/referrals/openapi.json",
         "--checks", "not_a_server_error", "--max-examples", PG_EXAMPLES, "--generation-deterministic",
         "-H", f"Authorization: Bearer {token}", "--request-timeout", "20", "--no-color"],
        capture_output=True, text=True, timeout=900, cwd=data_dir,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
