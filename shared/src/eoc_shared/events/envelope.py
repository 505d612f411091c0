"""CloudEvents 1.0 envelope; `type` carries the payload version (referral.created.v1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from eoc_shared.db import utcnow
from eoc_shared.events.schemas import EventPayload, spec_for


def source_of(service_name: str) -> str:
    return f"urn:eoc:{service_name}"


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    source: str = Field(min_length=1)
    type: str = Field(pattern=r"^[a-z][a-z0-9_.]*\.v\d+$")
    specversion: str = Field(pattern=r"^1\.0$")
    time: datetime
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: dict[str, Any]

    @property
    def topic(self) -> str:
        return self.type.rsplit(".v", 1)[0]

    @property
    def version(self) -> int:
        return int(self.type.rsplit(".v", 1)[1])


def build_envelope(
    topic: str, *, key: str, data: EventPayload, source: str, subject: str | None = None,
    event_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    spec = spec_for(topic)
    if not isinstance(data, spec.model):
        raise TypeError(f"{topic} needs a {spec.model.__name__}, got {type(data).__name__}")
    return {
        "_topic": spec.topic,
        "id": str(event_id or uuid.uuid4()),
        "source": source,
        "type": spec.type,
        "specversion": "1.0",
        "time": utcnow().isoformat(),
        "subject": subject or key,
        "datacontenttype": "application/json",
        "data": data.model_dump(mode="json"),
    }
