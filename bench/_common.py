"""Shared helpers for the benchmarks: the hello endpoint every figure is divided by, wrk, and `eoc up`.

The machine is shared and loaded, so an absolute req/s means little; each script measures a FastAPI
hello endpoint on the same uvicorn settings (one worker, uvloop + httptools) in the same run and
prints its figure as a ratio of that.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from journeys import child_body, family_body  # noqa: E402

from eoc_shared.broker import free_port  # noqa: E402

EOC = Path(sys.executable).parent / "eoc"
PREFIXES = ("referrals", "eligibility", "outcomes", "finance")
WRK = os.environ.get("WRK", "wrk")

HELLO_APP = textwrap.dedent(
    """
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}
    """
)

FEED_LUA = textwrap.dedent(
    """
    -- each request a new partner event (new external_id) for a child that exists
    local counter = 0
    local prefix = "%(prefix)s"
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer %(token)s"
    request = function()
      counter = counter + 1
      local body = '{"external_id":"' .. prefix .. '-' .. counter .. '","occurred_at":"2026-11-30T22:00:00Z",'
        .. '"child":{"la_child_id":"%(la_child_id)s"},"kind":"missing_episode"}'
      return wrk.format(nil, "%(path)s", nil, body)
    end
    """
)


def wrk(url: str, *, seconds: int = 10, connections: int = 16, script: str | None = None,
        timeout: int = 2) -> dict[str, float]:
    """Run wrk -t1 -cN -dS; answers req/s, mean latency (ms), non-2xx count."""
    if shutil.which(WRK) is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    argv = [WRK, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", f"{timeout}s"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        if script:
            f.write(script)
    if script:
        argv += ["-s", f.name]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    mean_ms = float(latency.group(1)) * scale[latency.group(2)] if latency else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "mean_ms": mean_ms, "non2xx": float(non2xx.group(1)) if non2xx else 0.0}


def wait_ready(base: str, prefixes: tuple[str, ...] = PREFIXES, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if all(httpx.get(f"{base}/{p}/readyz", timeout=2).status_code == 200 for p in prefixes):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{base} not ready within {timeout:.0f} s")


@contextlib.contextmanager
def hello_server() -> Iterator[str]:
    """A FastAPI hello endpoint on one uvicorn worker with uvloop + httptools, as `eoc up` serves."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "hello_app.py").write_text(HELLO_APP)
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "hello_app:app", "--port", str(port), "--host", "127.0.0.1", "--loop", "uvloop",
             "--http", "httptools", "--no-access-log", "--log-level", "warning"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{base}/hello", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield f"{base}/hello"
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=15)


def cpu_seconds(pid: int, *, descendants: bool = False) -> float:
    """User + system CPU time of a process so far: on a loaded machine, work per CPU-second is steadier than per second.

    With `descendants`, its children's too, living and reaped (`eoc up`'s broker; in distributed mode the
    services, the dashboard and nginx); a process that exited meanwhile counts 0 there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = [int(c) for t in Path(f"/proc/{pid}/task").iterdir()
                    for c in (t / "children").read_text().split()] if descendants else []
    except OSError:
        if descendants:
            return 0.0
        raise
    own = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if descendants else 0)
    return own / os.sysconf("SC_CLK_TCK") + sum(cpu_seconds(c, descendants=True) for c in children)


def pid_on_port(port: int) -> int:
    out = subprocess.run(["pgrep", "-f", "--", f"--port {port} "], capture_output=True, text=True).stdout.split()
    return int(out[0])


def hello_cpu(seconds: int = 10, connections: int = 16) -> tuple[float, float]:
    """(req/s, requests per CPU-second of the hello process)."""
    with hello_server() as url:
        wrk(url, seconds=2, connections=connections)
        pid = pid_on_port(int(url.rsplit(":", 1)[1].split("/")[0]))
        before = cpu_seconds(pid)
        r = wrk(url, seconds=seconds, connections=connections)
        used = cpu_seconds(pid) - before
        return r["rps"], r["rps"] * seconds / max(used, 1e-9)


def hello_rps(seconds: int = 10, connections: int = 16) -> float:
    with hello_server() as url:
        wrk(url, seconds=2, connections=connections)  # warm-up
        return wrk(url, seconds=seconds, connections=connections)["rps"]


@contextlib.contextmanager
def platform(*, distributed: bool = False, extra: list[str] | None = None,
             env: dict[str, str] | None = None) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """`eoc up` (all-in-one, or --distributed with its own databases) until the block ends."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        argv = [str(EOC), "up", "--port", str(port), "--data-dir", data_dir]
        prefix = f"bench_{uuid.uuid4().hex[:8]}_"
        if distributed:
            argv += ["--distributed", "--database-prefix", prefix]
        argv += extra or []
        log = open(Path(data_dir) / "eoc.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        try:
            wait_ready(base)
            yield base, Path(data_dir), proc
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
            if distributed:
                asyncio.run(_drop_databases(prefix))


async def _drop_databases(prefix: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        for name in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%"):
            await conn.execute(f'DROP DATABASE IF EXISTS "{name["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()


def token(data_dir: Path, role: str, source: str | None = None) -> str:
    argv = [str(EOC), "token", "--role", role, "--data-dir", str(data_dir)]
    if source:
        argv += ["--source", source]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def make_child(base: str, social_worker: str) -> tuple[str, str, str]:
    """A family with one child; answers (family_id, child_id, la_child_id)."""
    la_child_id = f"B-{uuid.uuid4().hex[:12]}"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {social_worker}"}, timeout=10) as client:
        family = client.post("/referrals/families", json=family_body()).json()
        child = client.post(f"/referrals/families/{family['id']}/children",
                            json=child_body(la_child_id=la_child_id)).json()
    return family["id"], child["id"], la_child_id


def feed_script(token_: str, la_child_id: str, path: str = "/referrals/feeds/police/events") -> str:
    return FEED_LUA % {"token": token_, "la_child_id": la_child_id, "path": path, "prefix": uuid.uuid4().hex[:8]}


def ratio(rps: float, hello: float) -> str:
    return f"{rps:,.0f} req/s = {100 * rps / hello:.1f} % of hello ({hello:,.0f} req/s)"


def src_path(root: Path) -> str:
    """PYTHONPATH that runs the packages of another checkout (e.g. the baseline) with this venv."""
    dirs = [root / "shared" / "src", root / "runner" / "src", *sorted((root / "services").glob("*/src"))]
    return os.pathsep.join(str(d) for d in dirs)


@contextlib.contextmanager
def checkout(ref: str | None) -> Iterator[dict[str, str]]:
    """Environment for running `ref` (a git commit) side by side with the working tree; {} for the working tree."""
    if not ref:
        yield {}
        return
    tmp = Path(tempfile.mkdtemp(prefix="eoc-bench-base-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tmp / "src"), ref],
                   check=True, capture_output=True)
    try:
        yield {"PYTHONPATH": src_path(tmp / "src"), "EOC_GATEWAY_CONF": str(tmp / "src/deploy/gateway/nginx.conf")}
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "src")],
                       check=False, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def service_ports(data_dir: Path) -> dict[str, int]:
    """The services' own ports, from `eoc up --distributed`'s first line (name on :port, …)."""
    text = (data_dir / "eoc.log").read_text(errors="replace")
    ports: dict[str, int] = {}
    for name, port in re.findall(r"(\w+) on :(\d+)", text):
        ports.setdefault(name, int(port))
    return ports
