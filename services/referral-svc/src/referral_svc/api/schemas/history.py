"""Bodies for a child's timeline and the access audit log."""

from __future__ import annotations

import uuid
from datetime import datetime

from referral_svc.api.schemas.fields import ReadModel


class TimelineEntry(ReadModel):
    at: datetime
    kind: str
    source: str
    summary: str | None = None
    ref: str


class AuditOut(ReadModel):
    at: datetime
    actor: str
    role: str
    action: str
    child_id: uuid.UUID
    request_id: str | None = None
