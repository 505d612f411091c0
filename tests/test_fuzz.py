"""Fuzzing the public API (schemathesis) through a real `eoc up`: whatever is sent, no endpoint answers 5xx."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from eoc_platform import registry
from eoc_shared.broker import free_port
from eoc_shared.testing.harness import wait_ready

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
EXAMPLES = os.environ.get("EOC_FUZZ_EXAMPLES", "15")


@pytest.fixture(scope="module")
def platform_url(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(BIN / "eoc"), "up", "--port", str(port), "--data-dir", str(data_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(base, registry.PREFIXES, process=proc)
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
