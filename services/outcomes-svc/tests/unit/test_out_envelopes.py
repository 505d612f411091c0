"""The scheduler's batch of followup.due envelopes is what build_envelope (uow.publish) makes, event by event."""

from __future__ import annotations

import uuid
from datetime import date

from eoc_shared.events.envelope import Envelope, build_envelope
from eoc_shared.events.schemas import FollowupDue
from outcomes_svc.scheduling import SOURCE, envelopes


def test_batch_envelopes_match_build_envelope() -> None:
    items = []
    for months in (6, 12, 18):
        child = uuid.uuid4()
        items.append((child, FollowupDue.model_construct(
            followup_id=uuid.uuid4(), child_id=child, intervention_id=uuid.uuid4(), checkpoint_months=months,
            due_on=date(2025, 2, 28))))
    batch = envelopes("followup.due", items)
    assert len(batch) == 3 and len({event_id for event_id, _ in batch}) == 3
    for (event_id, env), (key, data) in zip(batch, items):
        reference = {k: v for k, v in build_envelope("followup.due", key=str(key), data=FollowupDue.model_validate(
            data.model_dump()), source=SOURCE).items() if not k.startswith("_")}
        assert env.keys() == reference.keys()
        assert {k: v for k, v in env.items() if k not in ("id", "time")} == {
            k: v for k, v in reference.items() if k not in ("id", "time")}
        assert env["id"] == str(event_id)
        parsed = Envelope.model_validate(env)
        assert (parsed.topic, parsed.version) == ("followup.due", 1)
        assert FollowupDue.model_validate(parsed.data) == FollowupDue.model_validate(data.model_dump())
    assert envelopes("followup.due", []) == []
