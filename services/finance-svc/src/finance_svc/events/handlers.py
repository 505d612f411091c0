"""Events finance-svc consumes: each changes the facts the savings ledger is built from.

- `referral.created`: a projection is proposed for every child (the placement rule in force, the referral
  year's rates); `projection.updated` is published when it has a rate.
- `intervention.started` / `intervention.closed`: the intervention and each child's outcome (either may
  arrive first); the children's ledger positions are computed again.
- `followup.recorded`: a later care entry or custody is listed under the year's breakdowns.
"""

from __future__ import annotations

from eoc_shared.db import UnitOfWork
from eoc_shared.events.bus import Consumers
from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import FollowupRecorded, InterventionClosed, InterventionStarted, ReferralCreated
from finance_svc import ledgering, projections


async def on_referral_created(uow: UnitOfWork, event: Envelope, payload: ReferralCreated) -> None:
    await projections.referral_created(uow, event, payload)


async def on_intervention_started(uow: UnitOfWork, event: Envelope, payload: InterventionStarted) -> None:
    await ledgering.intervention_started(uow, event, payload)


async def on_intervention_closed(uow: UnitOfWork, event: Envelope, payload: InterventionClosed) -> None:
    await ledgering.intervention_closed(uow, event, payload)


async def on_followup_recorded(uow: UnitOfWork, event: Envelope, payload: FollowupRecorded) -> None:
    await ledgering.followup_recorded(uow, event, payload)


def register(consumers: Consumers) -> None:
    consumers.subscribe("referral.created", on_referral_created)
    consumers.subscribe("intervention.started", on_intervention_started)
    consumers.subscribe("intervention.closed", on_intervention_closed)
    consumers.subscribe("followup.recorded", on_followup_recorded)
