"""HTTP endpoints of referral-svc: thin; validation in schemas, rules in casework and domain."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from eoc_shared.auth import Principal, Scope, requires
from eoc_shared.service import UoW
from referral_svc import casework
from referral_svc.api.schemas import ChildIn, ChildOut, FamilyIn, FamilyOut, ReferralIn, ReferralOut

router = APIRouter(prefix="/referrals", tags=["referrals"])

CaseWriter = Annotated[Principal, Depends(requires(Scope.CASES_WRITE))]
CaseReader = Annotated[Principal, Depends(requires(Scope.CASES_READ))]


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


@router.post("/families", status_code=status.HTTP_201_CREATED, response_model=FamilyOut)
async def register_family(body: FamilyIn, uow: UoW, principal: CaseWriter) -> FamilyOut:
    family = await casework.register_family(uow, body, principal)
    await uow.commit()
    return FamilyOut.model_validate(
        {**{k: getattr(family, k) for k in FamilyOut.model_fields if k != "child_ids"}, "child_ids": []}
    )


@router.post("/families/{family_id}/children", status_code=status.HTTP_201_CREATED, response_model=ChildOut)
async def add_child(family_id: uuid.UUID, body: ChildIn, uow: UoW, principal: CaseWriter, request: Request) -> ChildOut:
    child = await casework.add_child(uow, family_id, body, principal, _request_id(request))
    await uow.commit()
    return ChildOut.model_validate(child, from_attributes=True)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ReferralOut)
async def make_referral(body: ReferralIn, uow: UoW, principal: CaseWriter, request: Request) -> ReferralOut:
    referral = await casework.make_referral(uow, body, principal, _request_id(request))
    await uow.commit()
    return ReferralOut.model_validate(casework.referral_view(referral))


@router.get("/{referral_id}", response_model=ReferralOut)
async def read_referral(referral_id: uuid.UUID, uow: UoW, principal: CaseReader, request: Request) -> ReferralOut:
    referral = await casework.read_referral(uow, referral_id, principal, _request_id(request))
    await uow.commit()
    return ReferralOut.model_validate(casework.referral_view(referral))
