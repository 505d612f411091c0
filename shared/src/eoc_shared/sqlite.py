"""SQLite on the event loop's own thread, behind the interface SQLAlchemy's aiosqlite dialect drives.

aiosqlite runs each statement on a worker thread and wakes the event loop with its result: per statement a
queue hand-off, a thread wake-up, the GIL passed there and back and a loop wake-up. For the small statements
of this platform's requests and consumers that hand-off cost more than SQLite itself: a transaction of a
look-up, an insert and a commit took 1.24 ms of CPU through aiosqlite and 0.59–0.68 ms done here at once
(docs/performance.md). Each service has one connection to its own file (`db.make_engine`), so a statement
never waits for another writer of this process; the busy timeout bounds how long one may hold up the loop
when another process (an operator's shell) holds the write lock: then it fails as an outage (503, retried).
The price: a long query (a report over a large SQLite database) holds up the other requests of the process
while it runs. All-in-one is the small deployment's mode; a large one runs the services on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

#: how long a statement waits for another process's write lock before failing, holding up the loop meanwhile
BUSY_TIMEOUT_SECONDS = 1.0


class InlineCursor:
    """An aiosqlite cursor's methods, each done at once on the sqlite3 cursor."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        self._cursor.execute(sql, () if parameters is None else parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany() if size is None else self._cursor.fetchmany(size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row


class _AtOnce:
    """aiosqlite's queue of work for its thread, as SQLAlchemy's isolation-level setter uses it directly."""

    @staticmethod
    def put_nowait(item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting caller, as aiosqlite's thread would
            future.set_exception(exc)


class InlineConnection:
    """An aiosqlite connection's methods (those SQLAlchemy uses), each done at once on a sqlite3 connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # SQLAlchemy's "is it open" check
        self._tx = _AtOnce()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def inline_connector(path: str) -> Callable[[], Awaitable[InlineConnection]]:
    """`async_creator` for a SQLite engine (`db.make_engine` makes it, parameters hidden): connections that need no thread."""

    async def connect() -> InlineConnection:
        # check_same_thread off: the pool may close a connection from the thread that disposes the engine.
        return InlineConnection(sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False))

    return connect


class WalCheckpoints:
    """WAL checkpoints on a worker thread, so that their fsyncs do not hold up the event loop.

    SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages of WAL and, with
    `synchronous=NORMAL`, is the one step of a commit that waits for the disk: on the loop's own thread it would
    stop every request and consumer of the process meanwhile. Here every `EVERY` commits a PASSIVE checkpoint
    runs on its own connection in a worker thread; PASSIVE waits for no reader or writer, and the loop's
    connection goes on appending to the WAL while it copies. The WAL starts again from its beginning once a
    checkpoint has caught up with it. Under writes that never pause it cannot, so SQLite's own checkpoint
    stays on as a backstop at `BACKSTOP_PAGES` (by then the worker has copied most of the frames).
    """

    EVERY = 200
    QUIET_SECONDS = 1.0  # and after this long with commits not yet checkpointed
    BACKSTOP_PAGES = 10_000  # 40 MB of 4 kB pages, ten times SQLite's default

    def __init__(self, path: str) -> None:
        self.path = path
        self._commits = 0
        self._running: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._again = False

    @property
    def idle(self) -> bool:
        """No checkpoint running and none owed: every commit so far has been checkpointed after it."""
        return not self._commits and (self._running is None or self._running.done())

    def committed(self) -> None:
        """A transaction is committing (SQLAlchemy's `commit` event, before the database's commit)."""
        self._commits += 1

    def settled(self) -> None:
        """The connection is back in the pool, its commit done: checkpoint now, or once writes pause."""
        if not self._commits:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # returned outside the loop (disposal at exit): closing the connection checkpoints

        if self._commits >= self.EVERY:
            self._start(loop)
        elif self._timer is None:
            self._timer = loop.call_later(self.QUIET_SECONDS, self._quiet, loop)

    def _quiet(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        if self._commits:
            self._start(loop)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._running is not None and not self._running.done():
            self._again = True  # one more as soon as this one ends, so that the last commits are copied too
            return
        self._commits = 0
        self._again = False
        self._running = loop.run_in_executor(None, self.checkpoint)
        self._running.add_done_callback(lambda _done: self._after(loop))

    def _after(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._again and self._commits:
            self._start(loop)

    def checkpoint(self) -> None:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass  # a later one copies what this one could not
        finally:
            connection.close()


_OF_ENGINE: weakref.WeakKeyDictionary[Any, WalCheckpoints] = weakref.WeakKeyDictionary()


def register_checkpoints(engine: Any, checkpoints: WalCheckpoints) -> WalCheckpoints:
    _OF_ENGINE[engine] = checkpoints
    return checkpoints


def checkpoints_of(engine: Any) -> WalCheckpoints | None:
    """The WAL checkpoints of an engine `db.make_engine` made for SQLite (its `sync_engine`)."""
    return _OF_ENGINE.get(engine)
