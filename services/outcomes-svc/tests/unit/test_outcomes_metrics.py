"""Outcome summary against figures worked out by hand.

Financial year 2023 runs from 1 April 2023 to 31 March 2024. Ids only, no personal data.

| intervention | child | programme | closed_on | reason | at closure | counted in 2023? |
|---|---|---|---|---|---|---|
| I1 | C1 | MST | 2023-04-01 | completed | at_home | yes (first day); given twice |
| I1 | C2 | MST | 2023-04-01 | completed | in_care | yes |
| I2 | C3 | FGC | 2024-03-31 | completed | at_home | yes (last day) |
| I3 | C1 | FFT_CW | 2023-10-10 | disengaged | at_home | yes (C1's second closure) |
| I4 | C4 | FGC | 2023-06-01 | superseded | at_home | no: superseded |
| I5 | C4 | MST_BSF | 2023-06-01 | escalated_to_care | custody | yes |
| I6 | C5 | MST | 2023-03-31 | completed | at_home | no: 2022 |
| I7 | C6 | OTHER_PREVENTION | 2024-04-01 | completed | at_home | no: 2024 |
| I8 | C7 | MST | 2024-02-29 | moved_away | other | yes |

children_closed = 6 (I1C1, I1C2, I2C3, I3C1, I5C4, I8C7); at_home_at_closure = 3;
success_rate = 3/6 = 0.5000.

Follow-ups (status, living_situation, re_referred):
- 6 months: I1C1 recorded at_home no (sustained); I1C2 recorded in_care no; I3C1 recorded
  at_home no (sustained); I2C3 due; I5C4 overdue; I8C7 scheduled; I6C5 recorded at_home
  (other year); I4C4 recorded in_care (superseded). sustained["6"] = 2/3 = 0.6667.
- 12 months: I1C1 recorded at_home but re_referred; I3C1 recorded at_home no (sustained);
  I5C4 recorded other no; I1C2 due. sustained["12"] = 1/3 = 0.3333.
- 18 months: none recorded. sustained["18"] = None.

By programme: MST 3 closed, 1 at home (0.3333), sustained 6 = 1/2, 12 = 0/1, 18 None;
FFT_CW 1, 1 (1.0000), 6 = 1/1, 12 = 1/1; FGC 1, 1 (1.0000), no recorded follow-ups;
MST_BSF 1, 0 (0.0000), 6 None (overdue), 12 = 0/1; FFT_REUNIFICATION and
OTHER_PREVENTION 0 closed, all rates None.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from outcomes_svc.domain.metrics import (
    Closure,
    Followup,
    counted_closures,
    outcome_summary,
    outcome_summary_by_programme,
    rate,
)

D = date.fromisoformat

CLOSURES = [
    Closure("I1", "C1", "MST", D("2023-04-01"), "completed", "at_home"),
    Closure("I1", "C1", "MST", D("2023-04-01"), "completed", "at_home"),
    Closure("I1", "C2", "MST", D("2023-04-01"), "completed", "in_care"),
    Closure("I2", "C3", "FGC", D("2024-03-31"), "completed", "at_home"),
    Closure("I3", "C1", "FFT_CW", D("2023-10-10"), "disengaged", "at_home"),
    Closure("I4", "C4", "FGC", D("2023-06-01"), "superseded", "at_home"),
    Closure("I5", "C4", "MST_BSF", D("2023-06-01"), "escalated_to_care", "custody"),
    Closure("I6", "C5", "MST", D("2023-03-31"), "completed", "at_home"),
    Closure("I7", "C6", "OTHER_PREVENTION", D("2024-04-01"), "completed", "at_home"),
    Closure("I8", "C7", "MST", D("2024-02-29"), "moved_away", "other"),
]

FOLLOWUPS = [
    Followup("C1", "I1", 6, "recorded", "at_home", False),
    Followup("C1", "I1", 6, "recorded", "at_home", False),
    Followup("C2", "I1", 6, "recorded", "in_care", False),
    Followup("C1", "I3", 6, "recorded", "at_home", False),
    Followup("C3", "I2", 6, "due"),
    Followup("C4", "I5", 6, "overdue"),
    Followup("C7", "I8", 6, "scheduled"),
    Followup("C5", "I6", 6, "recorded", "at_home", False),
    Followup("C4", "I4", 6, "recorded", "in_care", False),
    Followup("C1", "I1", 12, "recorded", "at_home", True),
    Followup("C1", "I3", 12, "recorded", "at_home", False),
    Followup("C4", "I5", 12, "recorded", "other", False),
    Followup("C2", "I1", 12, "due"),
]


def test_summary_for_the_hand_worked_year() -> None:
    assert outcome_summary(2023, CLOSURES, FOLLOWUPS) == {
        "financial_year": 2023,
        "children_closed": 6,
        "at_home_at_closure": 3,
        "success_rate": Decimal("0.5000"),
        "sustained": {"6": Decimal("0.6667"), "12": Decimal("0.3333"), "18": None},
    }


def test_rates_are_four_place_decimals() -> None:
    summary = outcome_summary(2023, CLOSURES, FOLLOWUPS)
    assert str(summary["success_rate"]) == "0.5000"
    assert str(summary["sustained"]["6"]) == "0.6667"


def test_the_neighbouring_years_pick_up_their_own_closures() -> None:
    assert outcome_summary(2022, CLOSURES, FOLLOWUPS) == {
        "financial_year": 2022,
        "children_closed": 1,
        "at_home_at_closure": 1,
        "success_rate": Decimal("1.0000"),
        "sustained": {"6": Decimal("1.0000"), "12": None, "18": None},
    }
    assert outcome_summary(2024, CLOSURES, FOLLOWUPS)["children_closed"] == 1


def test_an_empty_year_has_no_rates_rather_than_zero() -> None:
    assert outcome_summary(2030, CLOSURES, FOLLOWUPS) == {
        "financial_year": 2030,
        "children_closed": 0,
        "at_home_at_closure": 0,
        "success_rate": None,
        "sustained": {"6": None, "12": None, "18": None},
    }


def test_counted_closures_are_distinct_intervention_child_pairs() -> None:
    assert sorted(counted_closures(2023, CLOSURES)) == [
        ("I1", "C1"),
        ("I1", "C2"),
        ("I2", "C3"),
        ("I3", "C1"),
        ("I5", "C4"),
        ("I8", "C7"),
    ]


def test_by_programme() -> None:
    result = outcome_summary_by_programme(2023, CLOSURES, FOLLOWUPS)
    assert list(result) == ["MST", "MST_BSF", "FFT_CW", "FFT_REUNIFICATION", "FGC", "OTHER_PREVENTION"]
    compact = {
        p: (s["children_closed"], s["at_home_at_closure"], s["success_rate"], s["sustained"])
        for p, s in result.items()
    }
    assert compact == {
        "MST": (3, 1, Decimal("0.3333"), {"6": Decimal("0.5000"), "12": Decimal("0.0000"), "18": None}),
        "MST_BSF": (1, 0, Decimal("0.0000"), {"6": None, "12": Decimal("0.0000"), "18": None}),
        "FFT_CW": (1, 1, Decimal("1.0000"), {"6": Decimal("1.0000"), "12": Decimal("1.0000"), "18": None}),
        "FFT_REUNIFICATION": (0, 0, None, {"6": None, "12": None, "18": None}),
        "FGC": (1, 1, Decimal("1.0000"), {"6": None, "12": None, "18": None}),
        "OTHER_PREVENTION": (0, 0, None, {"6": None, "12": None, "18": None}),
    }
    assert all(s["programme"] == p and s["financial_year"] == 2023 for p, s in result.items())
    assert sum(s["children_closed"] for s in result.values()) == 6
    assert sum(s["at_home_at_closure"] for s in result.values()) == 3


def test_records_may_be_mappings_or_rows_with_attributes() -> None:
    closures = [
        {"intervention_id": "I1", "child_id": "C1", "programme": "MST", "closed_on": D("2023-05-01"),
         "reason": "completed", "living_situation": "at_home"},
        SimpleNamespace(intervention_id="I1", child_id="C2", programme="MST", closed_on=D("2023-05-01"),
                        reason="completed", living_situation="other", extra="ignored"),
    ]
    followups = [
        {"child_id": "C1", "intervention_id": "I1", "checkpoint_months": 6, "status": "recorded",
         "living_situation": "at_home", "re_referred": False},
        SimpleNamespace(child_id="C2", intervention_id="I1", checkpoint_months=6, status="recorded",
                        living_situation="at_home", re_referred=False),
    ]
    summary = outcome_summary(2023, closures, followups)
    assert (summary["children_closed"], summary["at_home_at_closure"]) == (2, 1)
    assert summary["sustained"]["6"] == Decimal("1.0000")


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (0, 5, Decimal("0.0000")),
        (1, 3, Decimal("0.3333")),
        (2, 3, Decimal("0.6667")),
        (1, 20000, Decimal("0.0001")),  # exactly half a unit in the last place: rounds up
        (3, 80000, Decimal("0.0000")),  # 0.0000375
        (5, 5, Decimal("1.0000")),
        (0, 0, None),
    ],
)
def test_rate_rounds_half_up(numerator: int, denominator: int, expected: Decimal | None) -> None:
    assert rate(numerator, denominator) == expected


def test_conflicting_duplicates_are_refused() -> None:
    clash = Closure("I1", "C1", "MST", D("2023-04-01"), "completed", "in_care")
    with pytest.raises(ValueError, match="conflicting"):
        outcome_summary(2023, [*CLOSURES, clash], FOLLOWUPS)
    different_answer = Followup("C1", "I1", 6, "recorded", "in_care", False)
    with pytest.raises(ValueError, match="conflicting"):
        outcome_summary(2023, CLOSURES, [*FOLLOWUPS, different_answer])


@pytest.mark.parametrize(
    "bad",
    [
        {"programme": "MTS"},
        {"reason": "finished"},
        {"living_situation": "home"},
    ],
)
def test_unknown_vocabulary_is_refused(bad: dict[str, str]) -> None:
    fields = {"intervention_id": "I1", "child_id": "C1", "programme": "MST", "closed_on": D("2023-05-01"),
              "reason": "completed", "living_situation": "at_home"}
    with pytest.raises(ValueError):
        Closure(**{**fields, **bad})


def test_a_recorded_followup_needs_its_answer() -> None:
    with pytest.raises(ValueError):
        Followup("C1", "I1", 6, "recorded", None, False)
    with pytest.raises(ValueError):
        Followup("C1", "I1", 6, "recorded", "at_home", None)
    with pytest.raises(ValueError):
        Followup("C1", "I1", 6, "pending")


@pytest.mark.parametrize("year", ["2023", 2023.0, True, 1999, 2101])
def test_financial_year_is_checked(year: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        outcome_summary(year, CLOSURES, FOLLOWUPS)  # type: ignore[arg-type]
