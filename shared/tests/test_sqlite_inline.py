"""SQLite on the event loop's thread (eoc_shared.sqlite): statements need no worker thread, errors and hidden
parameters behave as through aiosqlite, and the WAL is checkpointed off the loop instead of growing."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from eoc_shared.db import make_engine
from eoc_shared.sqlite import WalCheckpoints


async def test_statements_run_on_the_loops_thread(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    threads: list[int] = []

    @event.listens_for(engine.sync_engine, "connect")
    def _register(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.create_function("whose_thread", 0, lambda: threads.append(threading.get_ident()) or 1)

    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT whose_thread()"))).scalar() == 1
        assert threads == [threading.get_ident()]
    finally:
        await engine.dispose()


async def test_a_constraint_error_is_sqlalchemys_and_hides_the_values(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t VALUES (:k)"), {"k": "Jane Doe 2015-06-15"})
        with pytest.raises(IntegrityError) as caught:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (:k)"), {"k": "Jane Doe 2015-06-15"})
        assert "Jane" not in str(caught.value)
        async with engine.connect() as conn:  # the failed transaction left the connection usable
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_the_wal_is_checkpointed_off_the_loop(tmp_path: Path) -> None:
    """Bursts of commits with pauses between them, as a service's writes come: after each burst a checkpoint
    on a worker thread copies it, so the WAL starts again from its beginning instead of growing to the backstop."""
    db = tmp_path / "x.sqlite3"
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    checkpoints: list[tuple[float, float, int]] = []  # (started, finished, thread) of each
    original = WalCheckpoints.checkpoint

    def spy(self: WalCheckpoints) -> None:
        started = time.monotonic()
        original(self)
        checkpoints.append((started, time.monotonic(), threading.get_ident()))

    WalCheckpoints.checkpoint = spy  # type: ignore[method-assign]
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (v BLOB)"))
        bursts = 10
        for _ in range(bursts):
            for _ in range(WalCheckpoints.EVERY):  # 3 pages a commit
                async with engine.begin() as conn:
                    await conn.execute(text("INSERT INTO t VALUES (zeroblob(8000))"))
                    last_insert = time.monotonic()  # its commit follows with no turn of the loop between
            await eventually(lambda: any(started > last_insert for started, _, _ in checkpoints))  # noqa: B023
        assert {thread for _, _, thread in checkpoints}.isdisjoint({threading.get_ident()})
        written = bursts * WalCheckpoints.EVERY * 3 * 4096
        wal = await asyncio.to_thread(os.path.getsize, f"{db}-wal")
        assert wal < written / 3, f"WAL of {wal:,} bytes after {written:,} bytes of frames"
    finally:
        WalCheckpoints.checkpoint = original  # type: ignore[method-assign]
        await engine.dispose()


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "no checkpoint after the burst"
        await asyncio.sleep(0.01)
