"""The rejection report, as pure counting: how many referrals were decided, how many were eligible for
each programme, and how many families no intensive programme could take, and why.

Input is the latest decision of each referral in the period. Whether a programme is intensive is
read from the catalogue of the rule version each decision used. A referral counts once per reason,
however many intensive programmes gave that reason ("excluded: psychosis" closes four of them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProgrammeOutcome:
    programme: str
    eligible: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class DecidedReferral:
    rule_version: int
    recommended: str | None
    programmes: tuple[ProgrammeOutcome, ...]

    @classmethod
    def from_stored(cls, rule_version: int, recommended: str | None, programmes: Iterable[Mapping[str, Any]]) -> DecidedReferral:
        return cls(rule_version, recommended, tuple(
            ProgrammeOutcome(str(p["programme"]), bool(p["eligible"]), tuple(p.get("reasons") or ())) for p in programmes
        ))


@dataclass
class RejectionReport:
    referrals_decided: int = 0
    eligible_per_programme: dict[str, int] = field(default_factory=dict)
    recommended: dict[str, int] = field(default_factory=dict)
    no_intensive_referrals: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    reasons_by_programme: dict[str, dict[str, int]] = field(default_factory=dict)
    rule_versions: dict[str, int] = field(default_factory=dict)

    @property
    def no_intensive_share(self) -> float | None:
        if not self.referrals_decided:
            return None
        return round(self.no_intensive_referrals / self.referrals_decided, 4)


def _by_count(counter: Counter[str]) -> dict[str, int]:
    """Most frequent first; ties in alphabetical order, so the report reads the same every time."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def summarise(
    decisions: Iterable[DecidedReferral],
    intensive_by_version: Mapping[int, frozenset[str]],
    catalogue: Sequence[str] = (),
) -> RejectionReport:
    """Count the latest decision of each referral. `catalogue` lists programmes to report even at zero,
    in the order to show them; programmes seen only in decisions follow in the order first seen."""
    eligible: dict[str, int] = {code: 0 for code in catalogue}
    recommended: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    by_programme: dict[str, Counter[str]] = {}
    versions: Counter[str] = Counter()
    decided = turned_away = 0
    for decision in decisions:
        decided += 1
        versions[str(decision.rule_version)] += 1
        if decision.recommended:
            recommended[decision.recommended] += 1
        for outcome in decision.programmes:
            eligible.setdefault(outcome.programme, 0)
            if outcome.eligible:
                eligible[outcome.programme] += 1
        intensive = intensive_by_version.get(decision.rule_version, frozenset())
        considered = [o for o in decision.programmes if o.programme in intensive]
        if any(o.eligible for o in considered):
            continue
        turned_away += 1
        seen: set[str] = set()
        for outcome in considered:
            per = by_programme.setdefault(outcome.programme, Counter())
            for reason in dict.fromkeys(outcome.reasons):
                per[reason] += 1
                seen.add(reason)
        reasons.update(seen)
    return RejectionReport(
        referrals_decided=decided,
        eligible_per_programme=eligible,
        recommended=_by_count(recommended),
        no_intensive_referrals=turned_away,
        reasons=_by_count(reasons),
        reasons_by_programme={code: _by_count(c) for code, c in by_programme.items()},
        rule_versions=dict(sorted(versions.items(), key=lambda kv: int(kv[0]))),
    )
