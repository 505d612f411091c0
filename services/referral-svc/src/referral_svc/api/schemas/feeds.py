"""Bodies for partner feeds: events posted one at a time or in batches, and the review queue."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError, model_validator

from eoc_shared.api import StrictModel
from eoc_shared.text import Prose, Text
from referral_svc.api.schemas.fields import NhsNumber, Note, ReadModel, Reference

_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


def _aware_datetime(value: Any) -> datetime:
    if not isinstance(value, str) or not _ISO_DATETIME.match(value):
        raise ValueError("must be an ISO 8601 date and time with its offset, e.g. 2024-05-01T14:30:00Z")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise ValueError("is not a real date and time") from exc


AwareDatetime = Annotated[datetime, BeforeValidator(_aware_datetime)]


def _kind(value: str) -> str:
    if not _KIND.match(value):
        raise ValueError("must be a lower-case code of letters, digits, '_', '-' or '.', e.g. arrest or missing_episode")
    return value


class FeedChildIn(StrictModel):
    la_child_id: Reference | None = None
    nhs_number: NhsNumber | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> FeedChildIn:
        if self.la_child_id is None and self.nhs_number is None:
            raise ValueError("must give la_child_id or nhs_number")
        return self


class FeedEventIn(StrictModel):
    external_id: Annotated[Text, Field(max_length=128)]
    occurred_at: AwareDatetime
    child: FeedChildIn
    kind: Annotated[Text, Field(max_length=64), AfterValidator(_kind)]
    summary: Prose | None = None


class FeedAccepted(BaseModel):
    id: uuid.UUID
    status: Literal["accepted"] = "accepted"
    duplicate: bool


class ReviewItem(ReadModel):
    id: uuid.UUID
    source: str
    external_id: str
    kind: str
    occurred_at: datetime
    summary: str | None
    la_child_id: str | None
    nhs_number: str | None
    status: str
    review_reason: str | None
    child_id: uuid.UUID | None
    received_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None


class ResolveIn(StrictModel):
    child_id: uuid.UUID
    note: Note | None = None


class DismissIn(StrictModel):
    note: Note


# --------------------------------------------------------------------------------------------- feed batches (v1.1)

FEED_BATCH_MAX = 1000


class FeedBatchIn(StrictModel):
    """Each event is checked on its own against `FeedEventIn`, so one bad event refuses only itself."""

    events: Annotated[list[Any], Field(min_length=1, max_length=FEED_BATCH_MAX)]


_FEED_EVENTS = TypeAdapter(list[FeedEventIn])


def check_events(raw: list[Any]) -> list[FeedEventIn | ValidationError]:
    """Each item checked against `FeedEventIn`: the event, or the error `FeedEventIn.model_validate` gives it.

    The whole list goes through pydantic in one call (a model call per event cost ~15 % more CPU; most of what
    is left is the fields' own Python validators); only when an event is refused are the refused ones checked
    again one by one, for the same errors as before."""
    try:
        return list(_FEED_EVENTS.validate_python(raw))
    except ValidationError as exc:
        refused = {e["loc"][0] for e in exc.errors(include_url=False) if e["loc"]}
    good = iter(_FEED_EVENTS.validate_python([item for i, item in enumerate(raw) if i not in refused]))
    checked: list[FeedEventIn | ValidationError] = []
    for i, item in enumerate(raw):
        if i not in refused:
            checked.append(next(good))
            continue
        try:
            checked.append(FeedEventIn.model_validate(item))
        except ValidationError as one:
            checked.append(one)
    return checked


class FeedFieldError(BaseModel):
    field: str
    message: str


class FeedResult(BaseModel):
    external_id: str | None
    status: Literal["accepted", "duplicate", "invalid"]
    id: uuid.UUID | None = None
    errors: list[FeedFieldError] | None = None


class FeedBatchOut(BaseModel):
    results: list[FeedResult]
