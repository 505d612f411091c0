"""Small builders for cross-service tests: a family, its children and a referral, made over HTTP."""

from __future__ import annotations

import uuid
from typing import Any


def family_body(**overrides: Any) -> dict[str, Any]:
    return {
        "la_reference": f"FAM-{uuid.uuid4().hex[:10]}",
        "postcode_district": "LS6",
        "primary_language": "en",
        "interpreter_needed": False,
        **overrides,
    }


def child_body(**overrides: Any) -> dict[str, Any]:
    return {
        "la_child_id": f"CH-{uuid.uuid4().hex[:10]}",
        "given_name": "Test",
        "family_name": "Child",
        "date_of_birth": "2010-06-15",
        "sex": "M",
        "ethnicity": "WBRI",
        "legal_status": "CPP",
        **overrides,
    }


def referral_body(family_id: str, child_ids: list[str], **overrides: Any) -> dict[str, Any]:
    return {
        "family_id": family_id,
        "child_ids": child_ids,
        "referred_on": "2024-05-01",
        "source": "legal_planning_meeting",
        "risk_factors": ["behaviour"],
        "threshold_for_removal_met": True,
        **overrides,
    }


async def make_family(client: Any, headers: dict[str, str], children: list[dict[str, Any]] | None = None) -> tuple[str, list[str]]:
    r = await client.post("/referrals/families", json=family_body(), headers=headers)
    assert r.status_code == 201, r.text
    family_id = r.json()["id"]
    child_ids = []
    for child in children or [child_body()]:
        r = await client.post(f"/referrals/families/{family_id}/children", json=child, headers=headers)
        assert r.status_code == 201, r.text
        child_ids.append(r.json()["id"])
    return family_id, child_ids
