"""Distributed mode on one machine: the broker, one uvicorn process per service, nginx as the gateway.

Each service gets its own PostgreSQL database (created if missing) and is started exactly as a
container starts it: `uvicorn --factory <svc>.app:create_app`, settings from the environment
(EOC_<SERVICE>_DATABASE_URL, EOC_KAFKA_BOOTSTRAP, EOC_DATA_DIR). A service migrates its database in
its lifespan, which uvicorn runs before it binds its port, so nothing is served before migrating.
The gateway is deploy/gateway/nginx.conf rendered for 127.0.0.1 upstreams.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from eoc_platform import registry
from eoc_shared.broker import DEFAULT_PARTITIONS, BrokerSupervisor, EmbeddedBroker, free_port

# (service name, path prefix, uvicorn factory)
SERVICES = tuple((s.name, s.prefix, s.app_path) for s in registry.SERVICES)
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_PLACEHOLDER = re.compile(r"\$\{(EOC_[A-Z_]+)\}")


def gateway_template() -> Path:
    """deploy/gateway/nginx.conf of the checkout this runner is installed from (EOC_GATEWAY_CONF overrides)."""
    override = os.environ.get("EOC_GATEWAY_CONF")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "deploy" / "gateway" / "nginx.conf"


def render_gateway(template: str, values: dict[str, str]) -> str:
    """Fill the ${EOC_...} placeholders, as envsubst does in the container; an unknown one is an error."""
    missing = sorted({m for m in _PLACEHOLDER.findall(template) if m not in values})
    if missing:
        raise ValueError(f"the gateway template needs values for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def database_names(prefix: str) -> dict[str, str]:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", prefix):
        raise ValueError("the database prefix may hold only lower-case letters, digits and underscores")
    return {name: f"{prefix}{name}" for name, _p, _f in SERVICES}


def _server_dsn(server_url: str) -> str:
    return re.sub(r"^postgresql\+\w+://", "postgresql://", server_url)


def service_url(server_url: str, database: str) -> str:
    """The SQLAlchemy URL of one service's database on the given server."""
    base, _, _db = _server_dsn(server_url).partition("?")[0].rpartition("/")
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{database}"


async def ensure_databases(server_url: str, names: list[str]) -> list[str]:
    """Create every database that does not exist yet; answers the ones it created."""
    import asyncpg

    conn = await asyncpg.connect(_server_dsn(server_url), timeout=10)
    created = []
    try:
        for name in names:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
                created.append(name)
    finally:
        await conn.close()
    return created


def _die_with_parent() -> None:
    """Linux: a child gets SIGTERM if `eoc up` dies, so no process outlives it."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _popen(argv: list[str], env: dict[str, str] | None) -> subprocess.Popen[bytes]:
    # Their own session: a Ctrl-C in the terminal reaches `eoc up` alone, which stops them in order.
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
                            start_new_session=True)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    stop_signal: int = signal.SIGTERM
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] | None = None
    #: monotonic times of the restarts so far, to give up on a process that dies as soon as it starts
    restarts: list[float] = field(default_factory=list)


#: A process that exits is started again, as Kubernetes does with a pod, unless it exited this often lately:
#: then something is wrong that a restart will not mend, and `eoc up` stops.
RESTART_BUDGET = (5, 60.0)  # restarts, within seconds


@dataclass
class Distributed:
    port: int
    data_dir: Path
    server_url: str = DEFAULT_SERVER_URL
    host: str = "127.0.0.1"
    database_prefix: str = "eoc_"
    children: list[Child] = field(default_factory=list)
    broker: EmbeddedBroker | None = None
    supervisor: BrokerSupervisor | None = None
    #: service name → number of processes; replicas share the database and the consumer groups
    replicas: dict[str, int] = field(default_factory=dict)
    replica_ports: dict[str, list[int]] = field(default_factory=dict)

    def service_env(self, name: str, database: str, port: int) -> dict[str, str]:
        assert self.broker is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith(f"EOC_{name.upper()}_DATABASE")}
        env.update({
            "EOC_DATA_DIR": str(self.data_dir),
            "EOC_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            f"EOC_{name.upper()}_DATABASE_URL": service_url(self.server_url, database),
            "PYTHONUNBUFFERED": "1",
        })
        env.pop("EOC_DATABASE_URL", None)
        if name == "finance":  # the board paper reads follow-up sustainability through the gateway
            env.setdefault("EOC_FINANCE_OUTCOMES_URL", f"http://127.0.0.1:{self.port}")
        return env

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None,
               stop_signal: int = signal.SIGTERM) -> Child:
        child = Child(name, _popen(argv, env), stop_signal, argv, env)
        self.children.append(child)
        return child

    def restart(self, child: Child) -> bool:
        """Start an exited process again with the same command and environment (the same port, database and
        broker); False once it has used its restart budget. Its outbox and inbox make the restart safe: what
        it committed goes out, what it had not committed comes again."""
        now = time.monotonic()
        limit, window = RESTART_BUDGET
        recent = [t for t in child.restarts if now - t < window]
        if len(recent) >= limit:
            return False
        child.process, child.restarts = _popen(child.argv, child.env), [*recent, now]
        return True

    def start(self) -> dict[str, int]:
        from eoc_shared.auth import ensure_dev_keypair

        nginx = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
        if nginx is None:
            raise RuntimeError("nginx is not on PATH; install it (Debian: apt-get install nginx-light)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_dev_keypair(self.data_dir)
        names = database_names(self.database_prefix)
        try:
            created = asyncio.run(ensure_databases(self.server_url, list(names.values())))
        except Exception as exc:  # noqa: BLE001 - asyncpg's errors are many; the operator needs one line
            raise RuntimeError(f"cannot create the databases on {self.server_url}: {type(exc).__name__}: {exc}") from exc
        if created:
            print(f"eoc: created databases {', '.join(created)}", flush=True)

        # Enough partitions for the replicas of a service to share each topic (one partition: one reader),
        # made at every start of the broker, supervised restarts included.
        self.broker = EmbeddedBroker(log_file=self.data_dir / "broker.log",
                                     partitions=max([DEFAULT_PARTITIONS, *self.replicas.values()]))
        self.broker.start()
        self.supervisor = BrokerSupervisor(self.broker)  # restarts it on the same address if it exits
        self.supervisor.start()
        ports: dict[str, int] = {}
        for name, _prefix, factory in SERVICES:
            self.replica_ports[name] = [free_port() for _ in range(self.replicas.get(name, 1))]
            ports[name] = self.replica_ports[name][0]
            for i, port in enumerate(self.replica_ports[name]):
                self._spawn(name if i == 0 else f"{name}#{i + 1}", [
                    sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
                    "--port", str(port), "--no-access-log", "--log-level", "warning",
                    "--timeout-graceful-shutdown", "10", "--lifespan", "on",
                ], env=self.service_env(name, names[name], port))
        ports["dashboard"] = free_port()
        self._spawn("dashboard", [
            sys.executable, "-m", "uvicorn", "--factory", "eoc_dashboard.app:create_app", "--host", "127.0.0.1",
            "--port", str(ports["dashboard"]), "--no-access-log", "--log-level", "warning", "--lifespan", "on",
        ], env={**os.environ, "EOC_DATA_DIR": str(self.data_dir), "PYTHONUNBUFFERED": "1",
                "EOC_DASHBOARD_API_URL": f"http://127.0.0.1:{self.port}"})  # the APIs through the gateway
        self.replica_ports["dashboard"] = [ports["dashboard"]]
        self._start_gateway(nginx, self.replica_ports)
        return ports

    def _start_gateway(self, nginx: str, ports: dict[str, list[int]]) -> None:
        gateway = self.data_dir / "gateway"
        temp = gateway / "temp"
        temp.mkdir(parents=True, exist_ok=True)
        values = {
            "EOC_GATEWAY_LISTEN": f"{self.host}:{self.port}",
            "EOC_GATEWAY_TEMP_DIR": str(temp),
            "EOC_GATEWAY_ACCESS_LOG": str(gateway / "access.log"),
            # The template says `server ${EOC_X_UPSTREAM};`: replicas become more `server` lines of that upstream.
            **{f"EOC_{name.upper()}_UPSTREAM": "; server ".join(f"127.0.0.1:{p}" for p in plist)
               for name, plist in ports.items()},
        }
        conf = gateway / "nginx.conf"
        conf.write_text(render_gateway(gateway_template().read_text(), values))
        # Not a daemon, its own prefix, pid and error log; as root the workers stay root so they can
        # use the temporary directories under the data dir (nginx would otherwise drop to nobody).
        globals_ = f"daemon off; pid {gateway / 'nginx.pid'};"
        if os.geteuid() == 0:
            globals_ += " user root;"
        argv = [nginx, "-p", str(gateway), "-c", str(conf), "-e", str(gateway / "error.log"), "-g", globals_]
        check = subprocess.run([*argv, "-t", "-q"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused the rendered gateway config {conf}:\n{check.stderr.strip()}")
        # SIGQUIT is nginx's graceful shutdown; SIGTERM would be a fast one.
        self._spawn("gateway", argv, stop_signal=signal.SIGQUIT)

    def exited(self) -> Child | None:
        for child in self.children:
            if child.process.poll() is not None:
                return child
        if self.supervisor is None and self.broker is not None and self.broker.process is not None \
                and self.broker.process.poll() is not None:
            return Child("broker", self.broker.process)
        return None

    def wait_ready(self, timeout: float = 120.0) -> bool:
        base = f"http://{self.host}:{self.port}"
        deadline = time.monotonic() + timeout
        # Through the gateway, and each replica on its own port (the gateway would hide one not ready).
        pending = [f"{base}/{prefix}/readyz" for _n, prefix, _f in SERVICES] + [
            f"http://127.0.0.1:{port}/{prefix}/readyz" for name, prefix, _f in SERVICES
            for port in self.replica_ports.get(name, [])[1:]]
        with httpx.Client(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                if self.exited() is not None:
                    return False
                for url in list(pending):
                    try:
                        if client.get(url).status_code == 200:
                            pending.remove(url)
                    except httpx.HTTPError:
                        pass
                if pending:
                    time.sleep(0.2)
        return not pending

    def stop(self, timeout: float = 20.0) -> None:
        # The gateway first (no new requests), then the services, the broker last so relays can flush.
        ordered = [c for c in self.children if c.name == "gateway"] + [c for c in self.children if c.name != "gateway"]
        for child in ordered:
            if child.process.poll() is None:
                try:
                    child.process.send_signal(child.stop_signal)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for child in ordered:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"eoc: {child.name} did not stop within {timeout:.0f}s; killing it", flush=True)
                child.process.kill()
                child.process.wait()
        self.children.clear()
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        if self.broker is not None:
            self.broker.stop()
            self.broker = None


class _StopRequested(Exception):
    pass


def _stop_requested(_signum: int, _frame: object) -> None:
    raise _StopRequested


def parse_replicas(text: str) -> dict[str, int]:
    """`eligibility=2,outcomes=2` → {"eligibility": 2, "outcomes": 2}; services and counts checked."""
    known = {name for name, _p, _f in SERVICES}
    replicas: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition("=")
        if name not in known:
            raise ValueError(f"--replicas: {name!r} is not a service ({', '.join(sorted(known))})")
        if not count.isdigit() or not 1 <= int(count) <= 8:
            raise ValueError(f"--replicas: {part!r} needs a count from 1 to 8, e.g. {name}=2")
        replicas[name] = int(count)
    return replicas


def run_distributed(*, port: int, data_dir: Path, database_url: str = DEFAULT_SERVER_URL,
                    host: str = "127.0.0.1", database_prefix: str = "eoc_", replicas: dict[str, int] | None = None) -> int:
    from eoc_shared.logging import configure_logging

    configure_logging()
    platform = Distributed(port=port, data_dir=data_dir.resolve(), server_url=database_url, host=host,
                           database_prefix=database_prefix, replicas=replicas or {})
    previous = {s: signal.signal(s, _stop_requested) for s in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    code = 0
    try:
        try:
            ports = platform.start()
            print(f"eoc: distributed: broker on {platform.broker.bootstrap if platform.broker else '?'}, "
                  + ", ".join(f"{n} on " + " ".join(f":{p}" for p in platform.replica_ports[n]) for n in ports)
                  + f"; gateway on http://{host}:{port} (data in {platform.data_dir})", flush=True)
            if not platform.wait_ready():
                failed = platform.exited()
                print(f"eoc: {'the ' + failed.name + ' process exited' if failed else 'not ready in time'}; stopping",
                      file=sys.stderr, flush=True)
                return 1
            print(f"eoc: ready in {time.monotonic() - started:.1f}s", flush=True)
            while True:
                failed = platform.exited()
                if failed is None:
                    time.sleep(0.5)
                    continue
                exit_code = failed.process.returncode
                if not platform.restart(failed):
                    print(f"eoc: the {failed.name} process exited with {exit_code} "
                          f"{RESTART_BUDGET[0]} times within {RESTART_BUDGET[1]:.0f}s; stopping", file=sys.stderr, flush=True)
                    code = 1
                    break
                print(f"eoc: the {failed.name} process exited with {exit_code}; started it again", file=sys.stderr, flush=True)
        except _StopRequested:
            code = 0
        except (RuntimeError, OSError, ValueError) as exc:
            print(f"eoc up --distributed: {exc}", file=sys.stderr, flush=True)
            code = 1
    except _StopRequested:
        code = 0
    finally:
        # A second Ctrl-C while stopping must not leave children behind.
        for s in previous:
            signal.signal(s, signal.SIG_IGN)
        platform.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
        print("eoc: stopped", flush=True)
    return code
