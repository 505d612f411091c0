"""HTTP endpoints of eligibility-svc: thin; rules live in the domain engine and as data."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from eligibility_svc import decisions
from eligibility_svc.acting import Acting
from eligibility_svc.api.schemas import AssessmentIn, AssessmentOut, DecisionOut, ReportOut, RuleSetSummary
from eligibility_svc.domain.ruleset import CRITERION_KINDS, RuleSetDocument
from eoc_shared import finyear
from eoc_shared.auth import Principal, Scope, requires
from eoc_shared.clock import today
from eoc_shared.errors import Invalid, validation_problem
from eoc_shared.service import UoW

router = APIRouter(prefix="/eligibility", tags=["eligibility"])

Assessor = Annotated[Principal, Depends(requires(Scope.ELIGIBILITY_ASSESS))]
CaseReader = Annotated[Principal, Depends(requires(Scope.CASES_READ))]
RuleReader = Annotated[Principal, Depends(requires(Scope.ELIGIBILITY_ASSESS, Scope.RULES_WRITE, Scope.REPORTS_READ))]
RuleWriter = Annotated[Principal, Depends(requires(Scope.RULES_WRITE))]
ReportReader = Annotated[Principal, Depends(requires(Scope.REPORTS_READ))]


@router.post("/assessments", response_model=AssessmentOut, summary="What-if: decide without storing or publishing")
async def what_if(body: AssessmentIn, uow: UoW, _: Assessor) -> AssessmentOut:
    as_of = body.as_of or today()
    try:
        rule_set = await decisions.rule_set_in_force(uow, as_of)
    except decisions.NoRuleSetInForce as exc:
        raise Invalid(f"{exc}; choose a later date", field="as_of") from exc
    result = decisions.assess(
        rule_set, [(c.age_years, c.legal_status) for c in body.children], list(body.risk_factors),
        body.threshold_for_removal_met,
    )
    return AssessmentOut.model_validate({**result, "as_of": as_of})


@router.get(
    "/decisions/{referral_id}", response_model=DecisionOut | list[DecisionOut],
    summary="The latest decision for a referral; with all=true its whole history, oldest first",
)
async def read_decision(
    referral_id: uuid.UUID, uow: UoW, principal: CaseReader, request: Request,
    show_all: Annotated[Literal["true", "false"], Query(alias="all", description="true: every decision, oldest first")] = "false",
) -> Any:
    """A practitioner reads only the decisions of their own cases; every read is audited."""
    acting = Acting.of(principal, getattr(request.state, "request_id", None))
    if show_all == "true":
        history = await decisions.decision_history(uow, referral_id, acting)
        await uow.commit()
        return [DecisionOut.model_validate(decisions.decision_view(r)) for r in history]
    latest = await decisions.latest_decision(uow, referral_id, acting)
    await uow.commit()
    return DecisionOut.model_validate(decisions.decision_view(latest))


@router.get("/rules", response_model=RuleSetDocument, summary="The rule set in force today, as data")
async def rules_in_force(uow: UoW, _: RuleReader) -> Any:
    try:
        return (await decisions.rule_set_in_force(uow, today())).model_dump(mode="json")
    except decisions.NoRuleSetInForce as exc:
        raise Invalid(str(exc)) from exc


@router.post(
    "/rules", response_model=RuleSetDocument, status_code=201,
    summary="Add a rule set version (ops): takes effect from its effective_from date",
    responses={409: {"description": "the version already exists"}, 422: {"description": "the rule set is invalid"}},
)
async def add_rules(document: RuleSetDocument, uow: UoW, principal: RuleWriter, response: Response) -> Any:
    try:
        rule_set = await decisions.add_rule_set(uow, document, principal.actor)
    except decisions.RuleSetRejected as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", *path), "msg": message} for path, message in exc.problems]
        ) from exc
    response.headers["Location"] = f"/eligibility/rules/{rule_set.version}"
    return rule_set.model_dump(mode="json")


@router.get("/rules/{version}", response_model=RuleSetDocument, summary="Any rule set version, as data")
async def rules_version(version: int, uow: UoW, _: RuleReader) -> Any:
    return (await decisions.rule_set_version(uow, version)).model_dump(mode="json")


@router.get("/rule-sets", response_model=list[RuleSetSummary], summary="Every rule set version: when and by whom it was added")
async def rule_sets(uow: UoW, _: RuleReader) -> Any:
    return await decisions.list_rule_sets(uow)


@router.get("/programmes", summary="The programme catalogue in force today")
async def programmes(uow: UoW, _: RuleReader) -> list[dict[str, Any]]:
    try:
        rule_set = await decisions.rule_set_in_force(uow, today())
    except decisions.NoRuleSetInForce as exc:
        raise Invalid(str(exc)) from exc
    return [
        {"code": p.code, "name": p.name, "duration": p.duration, "intensive": p.intensive, "rule_version": rule_set.version}
        for p in rule_set.programmes
    ]


@router.get(
    "/report", response_model=ReportOut,
    summary="Referrals decided in a financial year, eligible per programme, and those no intensive programme could take, with reasons",
)
async def report(
    uow: UoW, _: ReportReader,
    financial_year: Annotated[int, Query(ge=finyear.MIN_YEAR, le=finyear.MAX_YEAR,
                                         description="the year it starts in: 2024 is 1 April 2024 to 31 March 2025")],
) -> Any:
    return await decisions.rejection_report(uow, financial_year)


def _json_path(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """pydantic puts the criterion kind (the union's tag) into error locations; a JSON path has no such step."""
    return tuple(
        part for i, part in enumerate(loc)
        if not (part in CRITERION_KINDS and i > 0 and isinstance(loc[i - 1], int))
    )


def install_error_paths(app: FastAPI) -> None:
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{**e, "loc": _json_path(tuple(e.get("loc", ())))} for e in exc.errors()]
        return validation_problem(request, errors)

    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
