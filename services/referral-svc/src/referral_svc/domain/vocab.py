"""referral-svc's own vocabulary: the statuses a referral moves through (contract v1).

The vocabularies every service shares (programmes, risk factors, placement types, …) are in
`eoc_shared.vocab`.
"""

from __future__ import annotations

from enum import StrEnum


class ReferralStatus(StrEnum):
    RECEIVED = "received"
    ASSESSING = "assessing"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    ACTIVE = "active"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    WAITLISTED = "waitlisted"
