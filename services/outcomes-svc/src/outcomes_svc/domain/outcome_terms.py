"""The words outcomes-svc reasons with: the contract's vocabularies, checkpoints and statuses, in one place."""

from __future__ import annotations

from enum import StrEnum


class Programme(StrEnum):
    MST = "MST"
    MST_BSF = "MST_BSF"
    FFT_CW = "FFT_CW"
    FFT_REUNIFICATION = "FFT_REUNIFICATION"
    FGC = "FGC"
    OTHER_PREVENTION = "OTHER_PREVENTION"


class LivingSituation(StrEnum):
    AT_HOME = "at_home"
    IN_CARE = "in_care"
    CUSTODY = "custody"
    OTHER = "other"


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

SUPERSEDED = "superseded"
LOOKED_AFTER = "LAC"
PLACED_WITH_PARENTS = "P1"
#: Living situations that are a care entry (or custody): they break the outcome.
CARE_SITUATIONS = frozenset({LivingSituation.IN_CARE.value, LivingSituation.CUSTODY.value})
#: Partner event kinds that mean the child was taken into custody.
CUSTODY_KINDS = frozenset({"custody"})
