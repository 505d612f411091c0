"""Who may read which case: practitioners read only the cases of their own interventions.

Scopes decide the kind of access (see eoc_shared.auth.ROLE_SCOPES); this decides the case.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from eoc_shared.acting import Acting
from eoc_shared.errors import Forbidden
from referral_svc.db.repositories import Interventions

REFUSED = "a practitioner may read only the cases of their own interventions"


async def ensure_may_read(
    session: AsyncSession, acting: Acting, *, referral_id: uuid.UUID | None = None,
    child_id: uuid.UUID | None = None, family_id: uuid.UUID | None = None,
) -> None:
    if not acting.is_practitioner:
        return
    if not await Interventions(session).practitioner_has(
        acting.actor, referral_id=referral_id, child_id=child_id, family_id=family_id
    ):
        raise Forbidden(REFUSED)
