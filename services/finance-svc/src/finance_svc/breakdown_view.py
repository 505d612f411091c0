"""Who sees which breakdowns in the savings summaries (contract v1.1).

Finance roles (those that may read finance records) keep the child-level list, and each such read is
written to the access log; anyone else who may read the figures (a board member, a team manager)
gets counts per month and living situation, and no child id.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from eoc_shared.auth import Principal, Scope
from eoc_shared.db import UnitOfWork
from finance_svc.accounting import Acting
from finance_svc.db.repositories import AccessLog
from finance_svc.domain.breakdown_counts import breakdown_counts


def sees_children(principal: Principal) -> bool:
    return principal.can(Scope.FINANCE_READ)


def present(uow: UnitOfWork, principal: Principal, acting: Acting, summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The summaries as this person may see them; a child-level read is audited in the same transaction."""
    if not sees_children(principal):
        return [{**s, "breakdowns": [asdict(c) for c in breakdown_counts(s["breakdowns"])]} for s in summaries]
    children = [uuid.UUID(str(b["child_id"])) for s in summaries for b in s["breakdowns"]]
    if children:
        AccessLog(uow.session).record(acting, "summary.breakdowns_read", children)
    return summaries
