"""HTTP endpoints of eligibility-svc: thin; rules live in the domain engine and as data."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from eoc_shared.auth import Principal, Scope, requires
from eoc_shared.clock import today
from eoc_shared.service import UoW
from eligibility_svc import decisions
from eligibility_svc.api.schemas import AssessmentIn, AssessmentOut, DecisionOut

router = APIRouter(prefix="/eligibility", tags=["eligibility"])

Assessor = Annotated[Principal, Depends(requires(Scope.ELIGIBILITY_ASSESS))]
CaseReader = Annotated[Principal, Depends(requires(Scope.CASES_READ))]


@router.post("/assessments", response_model=AssessmentOut, summary="What-if: decide without storing or publishing")
async def what_if(body: AssessmentIn, uow: UoW, _: Assessor) -> AssessmentOut:
    rule_set = await decisions.rule_set_in_force(uow, body.as_of or today())
    result = decisions.assess(
        rule_set, [(c.age_years, c.legal_status) for c in body.children], body.risk_factors, body.threshold_for_removal_met
    )
    return AssessmentOut.model_validate(result)


@router.get("/decisions/{referral_id}", response_model=DecisionOut)
async def read_decision(referral_id: uuid.UUID, uow: UoW, _: CaseReader) -> DecisionOut:
    return DecisionOut.model_validate(decisions.decision_view(await decisions.latest_decision(uow, referral_id)))


@router.get("/rules", summary="The rule set in force today, as data")
async def rules_in_force(uow: UoW, _: Assessor) -> dict:
    return (await decisions.rule_set_in_force(uow, today())).model_dump(mode="json")
