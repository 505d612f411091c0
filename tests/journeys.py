"""Small builders for cross-service tests: a family, its children and a referral, made over HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx


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


def post_burst(client: Any, n: int) -> tuple[list[tuple[str, str]], list[str]]:
    """`n` families with one child each, then one referral per family, over a synchronous httpx client:
    ((family id, child id) per family, referral ids)."""
    families = []
    for _ in range(n):
        family = client.post("/referrals/families", json=family_body()).json()
        child = client.post(f"/referrals/families/{family['id']}/children", json=child_body()).json()
        families.append((family["id"], child["id"]))
    referral_ids = []
    for family_id, child_id in families:
        r = client.post("/referrals", json=referral_body(family_id, [child_id]))
        assert r.status_code == 201, r.text
        referral_ids.append(r.json()["id"])
    return families, referral_ids


def undecided_after(client: Any, referral_ids: list[str], timeout: float,
                    still_running: Callable[[], None] = lambda: None) -> set[str]:
    """Poll each referral until referral-svc shows its eligibility decision; the ones still without one when
    `timeout` runs out. A read that fails (a process starting again behind the gateway) is tried again."""
    deadline = time.monotonic() + timeout
    pending = set(referral_ids)
    while pending and time.monotonic() < deadline:
        still_running()
        for referral_id in list(pending):
            try:
                got = client.get(f"/referrals/{referral_id}")
            except httpx.HTTPError:
                break
            if got.status_code == 200 and got.json()["eligibility"]:
                pending.discard(referral_id)
        time.sleep(0.2)
    return pending
