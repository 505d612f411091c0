"""The outbox relay's wake-up: a commit is published at once, not at the next poll, even when it lands while a
round that found nothing is finishing (its SELECT ran just before the commit)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from eoc_shared.events.bus import OutboxRelay

POLL_FOR_EVER = 3600.0  # a relay that waited for its poll would not run another round in this test


class _Relay(OutboxRelay):
    """The relay's loop (`_run`) as it is; the broker and database parts replaced by a script of rounds."""

    def __init__(self) -> None:
        outbox: Any = SimpleNamespace(metadata=SimpleNamespace(tables={}))
        super().__init__("waketest", db=None, outbox_model=outbox, bootstrap="unused:0",  # type: ignore[arg-type]
                         poll_seconds=POLL_FOR_EVER)
        self.rounds = 0
        self.second_round = asyncio.Event()

    async def _ensure_producer(self) -> Any:
        return None

    async def follow_broker_instance(self) -> int:
        return 0

    async def _prune_when_due(self) -> None:
        return None

    async def publish_pending(self, limit: int = 500) -> int:
        self.rounds += 1
        if self.rounds == 1:
            self.notify()  # a commit lands after this round's SELECT found nothing
            return 0
        self.second_round.set()
        return 0


async def test_a_commit_during_an_empty_round_wakes_the_next_round() -> None:
    relay = _Relay()
    relay.start()
    try:
        await asyncio.wait_for(relay.second_round.wait(), 30)  # the poll is an hour: only the wake-up gets here
    finally:
        relay._stopping = True
        relay.notify()
        assert relay._task is not None
        await relay._task
    assert relay.rounds >= 2


class _RoundsUntilWoken(_Relay):
    """Round 1 is full (the backlog may hold more), round 2 is not; a third round before `woken` is a look too many."""

    def __init__(self) -> None:
        super().__init__()
        self.round_limit = 10
        self.woken = False
        self.early: list[int] = []
        self.third_round = asyncio.Event()

    async def publish_pending(self, limit: int = 500) -> int:
        self.rounds += 1
        if self.rounds == 1:
            return limit
        if self.rounds == 2:
            self.second_round.set()
            return 3
        if not self.woken:
            self.early.append(self.rounds)
        self.third_round.set()
        return 0


async def test_after_a_round_that_was_not_full_the_relay_looks_again_only_when_woken() -> None:
    """A full round is followed by another at once (no notify needed); a round that sent less than its limit
    sent everything committed before it, so the next waits for a commit's notify instead of asking again."""
    relay = _RoundsUntilWoken()
    relay.start()
    try:
        await asyncio.wait_for(relay.second_round.wait(), 30)
        relay.woken = True
        relay.notify()
        await asyncio.wait_for(relay.third_round.wait(), 30)
    finally:
        relay._stopping = True
        relay.notify()
        assert relay._task is not None
        await relay._task
    assert relay.early == [], "a round ran after a partial round without a commit waking it"
