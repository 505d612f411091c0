"""A batch's events are checked as the single endpoint's model checks one: the quick check of the usual event
takes nothing the model would refuse or change, and every other event gets the model's own answer."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from referral_svc.api.schemas import FeedEventFields, FeedEventIn, check_events
from referral_svc.api.schemas.feeds import _plainly_valid


def event(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"external_id": "police-1", "occurred_at": "2026-11-30T22:00:00Z",
                            "child": {"la_child_id": "B-1"}, "kind": "missing_episode"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


EVENTS: list[Any] = [
    event(),
    event(summary="seen at the station"),
    event(summary=None),
    event(occurred_at="2026-11-30T22:00:00.123456+01:00"),
    event(occurred_at="2026-11-30T22:00+05:30"),
    event(external_id=" padded "),
    event(external_id="x" * 128),
    event(external_id="x" * 129),
    event(external_id=""),
    event(external_id="   "),
    event(external_id="caf\u0065\u0301"),  # not NFC: the model normalises it
    event(external_id="tab\there"),
    event(external_id="rtl\u202eevil"),
    event(external_id=7),
    event(external_id=...),
    event(kind="Arrest!"),
    event(kind="a" * 64),
    event(kind="a" * 65),
    event(kind="arrest\n"),
    event(kind=" arrest"),
    event(occurred_at="2026-11-30T22:00:00"),
    event(occurred_at="2026-02-30T22:00:00Z"),
    event(occurred_at="yesterday"),
    event(occurred_at=1700000000),
    event(occurred_at=...),
    event(child={"la_child_id": "B" * 64}),
    event(child={"la_child_id": "B" * 65}),
    event(child={"la_child_id": " B-1"}),
    event(child={"la_child_id": None}),
    event(child={}),
    event(child={"la_child_id": "B-1", "nhs_number": None}),
    event(child={"nhs_number": "943 476 5919"}),
    event(child={"nhs_number": "9434765918"}),
    event(child={"la_child_id": "B-1", "colour": "red"}),
    event(child="B-1"),
    event(child=...),
    event(summary=""),
    event(summary="  padded summary  "),
    event(summary="two\nlines"),
    event(summary="s" * 4000),
    event(summary="s" * 4001),
    event(summary=12),
    event(colour="red"),
    "not an object",
    None,
    [],
]


def _model(item: Any) -> FeedEventFields | list[Any]:
    try:
        return FeedEventFields.of(FeedEventIn.model_validate(item))
    except ValidationError as exc:
        return exc.errors(include_url=False, include_context=False)


@pytest.mark.parametrize("item", EVENTS)
def test_the_quick_check_takes_only_what_the_model_takes_unchanged(item: Any) -> None:
    quick = _plainly_valid(item)
    if quick is not None:
        assert _model(item) == quick


def test_the_quick_check_takes_the_usual_events() -> None:
    assert _plainly_valid(event()) is not None
    assert _plainly_valid(event(summary="seen at the station", occurred_at="2026-11-30T22:00:00.5+01:00")) is not None


def test_a_batch_is_answered_as_the_model_answers_each_event() -> None:
    checked = check_events(EVENTS)
    assert len(checked) == len(EVENTS)
    for item, answer in zip(EVENTS, checked, strict=True):
        expected = _model(item)
        if isinstance(answer, ValidationError):
            assert answer.errors(include_url=False, include_context=False) == expected
        else:
            assert answer == expected
