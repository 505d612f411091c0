"""What a real process writes when a child's write fails in the database, and what it does with a body
over 2 MB (contract v1.1), in both run modes.

The database error is forced with a trigger that refuses the insert of a child (on SQLite in all-in-one,
on PostgreSQL for referral-svc alone under uvicorn, as a container runs it). Every line the process wrote
to stdout and stderr is read back: none carries the child's names, date of birth or NHS number, none is a
traceback, and the failure is one structured line with the error type, request id and route template.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from eoc_shared.broker import free_port

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
ROUTE = "/referrals/families/{family_id}/children"
MB = 1024 * 1024


def _child() -> dict[str, str]:
    # Distinctive values, so that finding any of them in a log line cannot be a coincidence.
    return {"la_child_id": f"CH-{uuid.uuid4().hex[:8]}", "given_name": f"Ottoline{uuid.uuid4().hex[:6]}",
            "family_name": f"Wrenfield{uuid.uuid4().hex[:6]}", "date_of_birth": "2013-07-19", "sex": "F",
            "ethnicity": "WBRI", "legal_status": "CPP", "nhs_number": "4168192962"}


def _wait_ready(base: str, prefixes: list[str], proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    pending = list(prefixes)
    while pending and time.monotonic() < deadline:
        assert proc.poll() is None, "the process exited before it was ready"
        for prefix in list(pending):
            try:
                if httpx.get(f"{base}/{prefix}/readyz", timeout=2).status_code == 200:
                    pending.remove(prefix)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    assert not pending, f"not ready: {pending}"


def _stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _token(data_dir: Path, role: str) -> dict[str, str]:
    token = subprocess.run([str(BIN / "eoc"), "token", "--role", role, "--data-dir", str(data_dir)],
                           capture_output=True, text=True, check=True).stdout.strip()
    return {"Authorization": f"Bearer {token}"}


def _write_child_and_fail(base: str, headers: dict[str, str], before_write) -> tuple[dict[str, str], httpx.Response]:
    r = httpx.post(f"{base}/referrals/families", headers=headers, timeout=30, json={
        "la_reference": f"FAM-{uuid.uuid4().hex[:8]}", "postcode_district": "LS6", "primary_language": "en",
        "interpreter_needed": False})
    assert r.status_code == 201, r.text
    family_id = r.json()["id"]
    before_write()
    child = _child()
    return child, httpx.post(f"{base}/referrals/families/{family_id}/children", headers=headers, json=child, timeout=30)


def _assert_no_identifiers(output: str, child: dict[str, str], failed: httpx.Response) -> None:
    assert failed.status_code == 500, failed.text
    assert failed.headers["content-type"] == "application/problem+json"
    body = failed.json()
    for internal in ("INSERT", "sqlite", "asyncpg", "forced", "Traceback", child["given_name"]):
        assert internal not in failed.text, (internal, body)
    for value in (child["given_name"], child["family_name"], child["date_of_birth"], child["nhs_number"]):
        assert value not in output, f"{value} reached the log"
    assert "Traceback" not in output and "[parameters:" not in output
    failures = [json.loads(line) for line in output.splitlines() if '"request.failed"' in line]
    assert len(failures) == 1, output[-3000:]
    assert failures[0]["route"] == ROUTE and failures[0]["request_id"] == body["request_id"]
    assert failures[0]["error"] in ("IntegrityError", "DBAPIError", "InternalError", "OperationalError",
                                    "ProgrammingError"), failures[0]


@pytest.fixture(scope="module")
def allinone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    data_dir = tmp_path_factory.mktemp("logs-allinone")
    log = data_dir / "process.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "eoc"), "up", "--port", str(port), "--data-dir", str(data_dir)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(base, ["referrals", "eligibility", "outcomes", "finance"], proc)
        yield base, data_dir, log
    finally:
        _stop(proc, signal.SIGINT)


def test_allinone_a_failed_child_write_logs_no_identifier(allinone) -> None:
    base, data_dir, log = allinone

    def refuse_children() -> None:
        with sqlite3.connect(data_dir / "referral.sqlite3", timeout=30) as db:
            # an operational error (a constraint error would be answered 409 by the service)
            db.execute("CREATE TRIGGER refuse_children BEFORE INSERT ON children "
                       "BEGIN INSERT INTO forced_failure_no_such_table VALUES (1); END")

    child, failed = _write_child_and_fail(base, _token(data_dir, "social_worker"), refuse_children)
    try:
        _assert_no_identifiers(log.read_text(errors="replace"), child, failed)
    finally:
        with sqlite3.connect(data_dir / "referral.sqlite3", timeout=30) as db:
            db.execute("DROP TRIGGER refuse_children")


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_allinone_refuses_a_body_over_2_mb_before_any_service_reads_it(allinone, declared: bool) -> None:
    base, _data_dir, _log = allinone
    ten_mb = b"{" + b" " * (10 * MB) + b"}"
    content = ten_mb if declared else iter([ten_mb[i:i + MB] for i in range(0, len(ten_mb), MB)])
    # no token at all: the body limit answers before any service looks at the request
    r = httpx.post(f"{base}/referrals/families", content=content, timeout=60,
                   headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 413
    # a body just under the limit still reaches the service (which asks for a token)
    r = httpx.post(f"{base}/referrals/families", content=b"{" + b" " * (2 * MB - 3) + b"}", timeout=60,
                   headers={"content-type": "application/json"})
    assert r.status_code == 401, r.text


async def test_one_service_on_postgresql_logs_no_identifier(tmp_path: Path, broker, databases, data_dir) -> None:
    import asyncio

    url = await databases.create("logs_referral")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EOC_REFERRAL_DATABASE_URL": url, "EOC_KAFKA_BOOTSTRAP": broker.bootstrap,
           "EOC_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("EOC_DATABASE_URL", None)
    log = tmp_path / "referral.log"
    with log.open("wb") as out:
        proc = await asyncio.to_thread(
            subprocess.Popen, [sys.executable, "-m", "uvicorn", "--factory", "referral_svc.app:create_app", "--host",
                               "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
                               "--lifespan", "on"], env=env, stdout=out, stderr=subprocess.STDOUT)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        await asyncio.to_thread(_wait_ready, base, ["referrals"], proc)
        headers = _token(data_dir, "social_worker")

        async def refuse_children() -> None:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute("CREATE FUNCTION refuse_children() RETURNS trigger LANGUAGE plpgsql AS "
                                   "$$ BEGIN RAISE EXCEPTION 'forced failure'; END $$")
                await conn.execute("CREATE TRIGGER refuse_children BEFORE INSERT ON children "
                                   "FOR EACH ROW EXECUTE FUNCTION refuse_children()")
            finally:
                await conn.close()

        loop = asyncio.get_running_loop()
        child, failed = await asyncio.to_thread(
            _write_child_and_fail, base, headers,
            lambda: asyncio.run_coroutine_threadsafe(refuse_children(), loop).result(30))
        # The NUL byte that PostgreSQL cannot store is now refused as input, naming the field.
        r = await asyncio.to_thread(httpx.post, f"{base}/referrals/families/{uuid.uuid4()}/children",
                                    headers=headers, json={**_child(), "given_name": "Otto\x00line"}, timeout=30)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "given_name", r.text
    finally:
        await asyncio.to_thread(_stop, proc, signal.SIGTERM)
    _assert_no_identifiers(log.read_text(errors="replace"), child, failed)
    assert "Otto" not in log.read_text(errors="replace")
