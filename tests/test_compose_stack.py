"""docker-compose.yml for real: build, start, one referral through the gateway, tear down.

Needs a Docker engine with the compose plugin; skipped cleanly without one (as on the development
machines, which have no engine). Its own project name and gateway port, so parallel runs do not collide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from journeys import child_body, family_body, referral_body

from eoc_shared.broker import free_port

pytestmark = [pytest.mark.docker, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[1]


def _docker_compose_or_skip() -> list[str]:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")
    if subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip("no Docker engine")
    if subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip("no docker compose plugin")
    return [docker, "compose"]


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[list[str], str]]:
    compose = _docker_compose_or_skip()
    port = free_port()
    project = f"eoc-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "EOC_GATEWAY_PORT": str(port)}
    argv = [*compose, "-p", project, "-f", str(ROOT / "docker-compose.yml")]
    try:
        up = subprocess.run([*argv, "up", "--build", "-d", "--wait", "--wait-timeout", "600"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-4000:]
        yield argv, f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([*argv, "down", "-v", "--remove-orphans"], cwd=ROOT, env=env, capture_output=True, timeout=300)


def test_the_compose_stack_serves_a_referral_through_the_gateway(stack: tuple[list[str], str]) -> None:
    argv, base = stack
    token = subprocess.run([*argv, "run", "--rm", "--user", "root", "keys", "issue", "social_worker"],
                           cwd=ROOT, capture_output=True, text=True, check=True, timeout=120).stdout.strip().splitlines()[-1]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        family = client.post("/referrals/families", json=family_body()).json()
        child = client.post(f"/referrals/families/{family['id']}/children", json=child_body()).json()
        r = client.post("/referrals", json=referral_body(family["id"], [child["id"]]))
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shown = client.get(f"/referrals/{r.json()['id']}").json()
            if shown["eligibility"]:
                break
            time.sleep(0.2)
        assert shown["eligibility"]["recommended"] == "MST"
        assert client.get("/referrals/readyz", headers={"X-Request-ID": "compose-1"}).headers["x-request-id"] == "compose-1"
