"""Group commit: writes from concurrent requests share one transaction.

While a transaction commits, the items that arrive queue up and go in the next one. Each request is answered
only after the transaction holding its item committed (a 201 or 202 still means committed, outbox included).
When a group's transaction fails, its items are written again one by one, so one item's failure is its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog

from eoc_shared.db import UnitOfWork

log = structlog.get_logger("eoc.group_commit")

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`write(uow, items)` writes a group and answers one result per item, in order; the group commits after it.
    A result that is an exception (a domain error: a clash, a missing parent) is raised in that item's request.

    `writers` transactions may be in flight at once: 1 on SQLite (one writer there anyway); on PostgreSQL a
    few, so that one group's round trips to the server overlap the next group's instead of queueing behind
    them. A second writer starts only when items are waiting and every writer is busy.
    """

    GATHER_TURNS = 4

    def __init__(self, uow_factory: Callable[[], UnitOfWork],
                 write: Callable[[UnitOfWork, list[Item]], Awaitable[list[Result]]], *, name: str,
                 max_group: int = 500, writers: int = 1) -> None:
        self._uow_factory = uow_factory
        self._write_items = write
        self._name = name
        self._max_group = max_group
        self._writers = max(1, writers)
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._active = 0  # writers between their start and their last look at the queue
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._active < self._writers:
            self._active += 1
            task = asyncio.create_task(self._drain(), name=f"group-commit-{self._name}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Not shielded: a request cancelled while it waits cancels only its own future; its item stays queued
        # and is written as the others (`_settle` skips a future already done). The shield cost an outer
        # future and two callbacks per request.
        return await future

    async def _drain(self) -> None:
        try:
            # A few turns of the event loop first: requests whose bytes have already arrived (reading, parsing,
            # the middleware and the endpoint take a turn each) join this group rather than wait for the next.
            # On SQLite a transaction's statements now run without yielding to the loop, so without these turns
            # nothing would arrive while a group is written, and groups would be of one.
            for _ in range(self.GATHER_TURNS):
                await asyncio.sleep(0)
            await self._write_queued()
        finally:
            # No await between the last empty look at the queue and this: a submit either sees this writer
            # still active (and its item taken by the loop) or starts another.
            self._active -= 1

    async def _write_queued(self) -> None:
        while self._queue:
            group, self._queue = self._queue[:self._max_group], self._queue[self._max_group:]
            try:
                results = await self._write([item for item, _ in group])
            except Exception as exc:  # noqa: BLE001 - answered per item below
                if len(group) == 1:
                    _settle(group[0][1], exc)
                    continue
                log.warning("group_commit.group_failed", group=self._name, items=len(group), error=type(exc).__name__)
                for item, future in group:
                    try:
                        _settle(future, (await self._write([item]))[0])
                    except Exception as one:  # noqa: BLE001
                        _settle(future, one)
                continue
            for (_item, future), result in zip(group, results, strict=True):
                _settle(future, result)

    async def _write(self, items: list[Item]) -> list[Result]:
        async with self._uow_factory() as uow:
            results = await self._write_items(uow, items)
            await uow.commit()
        return results


def _settle(future: asyncio.Future[Result], result: Result | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
