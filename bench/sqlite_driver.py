"""Benchmark: one small SQLite transaction (a look-up, an insert, a commit through an ORM session), on the event
loop's thread (eoc_shared.sqlite, as the services run) against aiosqlite's worker thread, side by side.

Run: .venv/bin/python bench/sqlite_driver.py [--transactions 2000] [--rounds 2]
Prints wall and CPU (the whole process, threads included) per transaction for each, alternating, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import String
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from eoc_shared.sqlite import inline_connector


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "row"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    value: Mapped[str] = mapped_column(String(50))


async def per_transaction(inline: bool, n: int) -> tuple[float, float]:
    """(wall µs, CPU µs) per transaction."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.sqlite3")
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}", hide_parameters=True, pool_size=1, max_overflow=0,
                                     **({"async_creator": inline_connector(path)} if inline else {}))
        async with engine.begin() as conn:
            await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            await conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
            await conn.run_sync(Base.metadata.create_all)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        last = None
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            async with sessions() as session:
                if last is not None:
                    await session.get(Row, last)
                last = str(uuid.uuid4())
                session.add(Row(id=last, value="x"))
                await session.commit()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await engine.dispose()
        return wall / n * 1e6, cpu / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.rounds):
        thread_wall, thread_cpu = asyncio.run(per_transaction(False, args.transactions))
        inline_wall, inline_cpu = asyncio.run(per_transaction(True, args.transactions))
        print(f"aiosqlite (worker thread): {thread_wall:5.0f} µs wall, {thread_cpu:5.0f} µs CPU per transaction; "
              f"on the loop's thread: {inline_wall:5.0f} µs wall, {inline_cpu:5.0f} µs CPU "
              f"(CPU × {inline_cpu / thread_cpu:.2f})", flush=True)


if __name__ == "__main__":
    main()
