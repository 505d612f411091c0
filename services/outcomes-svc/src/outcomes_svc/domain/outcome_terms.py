"""The words outcomes-svc reasons with: its statuses, checkpoints and signals; the contract's shared
vocabularies come from `eoc_shared.vocab`."""

from __future__ import annotations

from enum import StrEnum

from eoc_shared.vocab import ClosureReason, LegalStatus, LivingSituation, PlacementType


class FollowupStatus(StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"
    OVERDUE = "overdue"
    RECORDED = "recorded"


class SignalKind(StrEnum):
    """What the service detects on the bus about a child after an intervention closed."""

    RE_REFERRAL = "re_referral"
    IN_CARE = "in_care"
    CUSTODY = "custody"


#: Months after `closed_on` at which a child is followed up (contract: 6, 12, 18 and then yearly to 5 years).
CHECKPOINTS: tuple[int, ...] = (6, 12, 18, 24, 36, 48, 60)
#: The checkpoints the contract's summary reports as `sustained`.
SUMMARY_CHECKPOINTS: tuple[int, ...] = (6, 12, 18)
#: A follow-up without a result is overdue this many days after it fell due.
OVERDUE_AFTER_DAYS = 28
#: The horizon of the survival estimate, in months.
HORIZON_MONTHS = 60

SUPERSEDED = ClosureReason.SUPERSEDED.value
LOOKED_AFTER = LegalStatus.LAC.value
PLACED_WITH_PARENTS = PlacementType.P1.value
#: Living situations that are a care entry (or custody): they break the outcome.
CARE_SITUATIONS = frozenset({LivingSituation.IN_CARE.value, LivingSituation.CUSTODY.value})
#: Partner event kinds that mean the child was taken into custody.
CUSTODY_KINDS = frozenset({"custody"})
