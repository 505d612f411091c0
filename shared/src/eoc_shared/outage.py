"""Dependency outages: which errors mean "the database cannot be reached", and one log line per episode.

A stopped PostgreSQL, a refused connection, a pool that cannot hand out a connection or a SQLite file
that stays locked is not a server bug: clients get 503 with Retry-After and retry. Operators get one
line when an episode starts and one when it ends, never a line (or a traceback) per failed request.
"""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass, field

import structlog
from prometheus_client import Counter
from sqlalchemy import exc as sa_exc

log = structlog.get_logger("eoc.outage")

RETRY_AFTER_SECONDS = 5

DEPENDENCY_ERRORS = Counter(
    "eoc_dependency_unavailable_total", "Operations refused because a dependency could not be reached",
    ["service", "dependency"],
)

# Messages of SQLite's OperationalError that mean "busy or gone", not "your SQL is wrong".
_SQLITE_OUTAGE = ("database is locked", "unable to open database", "disk i/o error", "database is busy")
# asyncpg's errors for a connection that failed or a server that is shutting down or starting up.
_ASYNCPG_OUTAGE = (
    "ConnectionDoesNotExistError", "ConnectionFailureError", "CannotConnectNowError", "AdminShutdownError",
    "CrashShutdownError", "PostgresConnectionError", "ClientCannotConnectError", "InterfaceError",
    "ConnectionRejectionError", "TooManyConnectionsError", "InternalClientError",
)

_NETWORK_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH, errno.ENETUNREACH,
    errno.ETIMEDOUT, errno.EPIPE, errno.ENOTCONN, errno.EHOSTDOWN, errno.ENETDOWN,
})


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_outage(exc: BaseException) -> bool:
    """True when `exc` says the database could not be reached (rather than that a statement was wrong)."""
    for err in _chain(exc):
        if isinstance(err, sa_exc.TimeoutError):  # the pool had no connection to give within its timeout
            return True
        if isinstance(err, sa_exc.DBAPIError):
            if err.connection_invalidated:
                return True
            if isinstance(err, sa_exc.InterfaceError):
                return True
            if isinstance(err, sa_exc.OperationalError):
                text = str(err.orig).lower()
                if "sqlite" not in type(err.orig).__module__ or any(m in text for m in _SQLITE_OUTAGE):
                    return True
        if isinstance(err, ConnectionError | TimeoutError):
            return True
        if isinstance(err, OSError) and (err.errno in _NETWORK_ERRNOS or "connect call failed" in str(err).lower()):
            return True
        if type(err).__name__ in _ASYNCPG_OUTAGE and type(err).__module__.startswith("asyncpg"):
            return True
    return False


@dataclass
class OutageEpisodes:
    """Counts failures per dependency; logs when an episode starts and when the dependency answers again."""

    service: str
    _since: dict[str, float] = field(default_factory=dict)
    _refused: dict[str, int] = field(default_factory=dict)

    def failed(self, dependency: str, exc: BaseException) -> None:
        DEPENDENCY_ERRORS.labels(self.service, dependency).inc()
        if dependency not in self._since:
            self._since[dependency] = time.monotonic()
            self._refused[dependency] = 0
            log.warning("dependency.unavailable", service=self.service, dependency=dependency,
                        error=type(exc).__name__, retry_after=RETRY_AFTER_SECONDS)
        self._refused[dependency] += 1

    def succeeded(self, dependency: str) -> None:
        since = self._since.pop(dependency, None)
        if since is not None:
            log.warning("dependency.recovered", service=self.service, dependency=dependency,
                        seconds=round(time.monotonic() - since, 1), refused=self._refused.pop(dependency, 0))

    def down(self, dependency: str) -> bool:
        return dependency in self._since
