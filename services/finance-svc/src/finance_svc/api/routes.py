"""HTTP endpoints of finance-svc: thin; validation in schemas, work in the operations modules, rules in the domain.

Who may do what:
- `finance_officer` and `ops` write rates, targets, programme costs and the placement rule (`finance:write`);
- `placements_officer` verifies projections (`projections:verify`);
- `finance_officer`, `ops` and `placements_officer` read finance, children's projections included (`finance:read`);
- `board_member` reads the aggregate figures only: summaries, value for money and the board paper;
- nobody else reads finance (a team manager's `reports:read` does not reach here).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from eoc_shared.acting import acting_of as _acting
from eoc_shared.auth import Principal, Role, Scope, current_principal, requires
from eoc_shared.errors import Forbidden, Invalid
from eoc_shared.finyear import MAX_YEAR, MIN_YEAR, label
from eoc_shared.service import UoW
from finance_svc import breakdown_view, figures, ledgering, placement_rules, projections, reporting, year_settings
from finance_svc.api.schemas import (
    CostIn,
    CostsOut,
    HighCostItem,
    HighCostOut,
    PlacementRulesIn,
    PlacementRulesOut,
    ProgrammeValue,
    ProjectionIn,
    ProjectionOut,
    ProjectionVersionOut,
    RateCardOut,
    RateIn,
    RebuildOut,
    SummaryOut,
    TargetsIn,
    TargetsOut,
    ValueForMoneyOut,
)
from finance_svc.db.models import Projection
from finance_svc.domain.projection import annual_cost_avoided

router = APIRouter(prefix="/finance", tags=["finance"])

FinanceWriter = Annotated[Principal, Depends(requires(Scope.FINANCE_WRITE))]
FinanceReader = Annotated[Principal, Depends(requires(Scope.FINANCE_READ))]
Verifier = Annotated[Principal, Depends(requires(Scope.PROJECTIONS_VERIFY))]
Ops = Annotated[Principal, Depends(requires(Scope.OPS))]

FIGURE_ROLES = frozenset({Role.FINANCE_OFFICER, Role.OPS, Role.PLACEMENTS_OFFICER, Role.BOARD_MEMBER})


async def _figure_reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.role not in FIGURE_ROLES:
        raise Forbidden(f"the role {principal.role.value} may not read finance figures (finance officers, "
                        "placements officers, board members and ops may)")
    return principal


FigureReader = Annotated[Principal, Depends(_figure_reader)]
FinancialYear = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="the calendar year the financial year "
                                                                           "starts in: 2023 is 2023/24")]
Quarter = Annotated[int, Path(ge=1, le=4, description="1 is April–June, 4 is January–March")]


# --------------------------------------------------------------------------------------------- rates


def _card(fy: int, card: dict, moved: int | None = None) -> RateCardOut:
    return RateCardOut.model_validate({
        "financial_year": label(fy),
        "rates": [{"placement_type": t, "daily_rate": r} for t, r in sorted(card.items())],
        "projections_updated": moved,
    })


@router.put("/rates/{fy}", response_model=RateCardOut)
async def set_rates(fy: FinancialYear, body: list[RateIn], uow: UoW, principal: FinanceWriter,
                    request: Request) -> RateCardOut:
    """Replace the year's rate card (every placement type to be costed that year). Proposed projections
    referred in that year take the new rates; verified ones keep the rate the placements team agreed."""
    if not body:
        raise Invalid("give at least one placement_type and daily_rate", field="body")
    items = [(r.placement_type.value, r.daily_rate) for r in body]
    moved = await year_settings.set_rates(uow, fy, items, _acting(principal, request))
    card = await year_settings.rate_card(uow, fy)
    await uow.commit()
    return _card(fy, card, moved)


@router.get("/rates/{fy}", response_model=RateCardOut)
async def read_rates(fy: FinancialYear, uow: UoW, _principal: FinanceReader) -> RateCardOut:
    return _card(fy, await year_settings.rate_card(uow, fy))


# --------------------------------------------------------------------------------------------- targets and costs


def _targets(fy: int, target: object | None) -> TargetsOut:
    return TargetsOut(
        financial_year=label(fy),
        children_diverted=getattr(target, "children_diverted", None),
        gross_savings=getattr(target, "gross_savings", None),
    )


@router.put("/targets/{fy}", response_model=TargetsOut)
async def set_targets(fy: FinancialYear, body: TargetsIn, uow: UoW, principal: FinanceWriter,
                      request: Request) -> TargetsOut:
    target = await year_settings.set_targets(uow, fy, body.children_diverted, body.gross_savings,
                                          _acting(principal, request))
    await uow.commit()
    return _targets(fy, target)


@router.get("/targets/{fy}", response_model=TargetsOut)
async def read_targets(fy: FinancialYear, uow: UoW, _principal: FigureReader) -> TargetsOut:
    return _targets(fy, await year_settings.targets_of(uow, fy))


def _costs(fy: int, costs: dict) -> CostsOut:
    return CostsOut.model_validate({
        "financial_year": label(fy), "costs": [{"programme": p, "cost": c} for p, c in sorted(costs.items())],
    })


@router.put("/programme-costs/{fy}", response_model=CostsOut)
async def set_programme_costs(fy: FinancialYear, body: list[CostIn], uow: UoW, principal: FinanceWriter,
                              request: Request) -> CostsOut:
    """Replace the year's programme team costs (`[{programme, cost}]`); they give net savings and cost per
    successful outcome in `GET /finance/value-for-money/{fy}`. An empty list clears them."""
    items = [(c.programme.value, c.cost) for c in body]
    await year_settings.set_programme_costs(uow, fy, items, _acting(principal, request))
    costs = await year_settings.programme_costs(uow, fy)
    await uow.commit()
    return _costs(fy, costs)


@router.get("/programme-costs/{fy}", response_model=CostsOut)
async def read_programme_costs(fy: FinancialYear, uow: UoW, _principal: FinanceReader) -> CostsOut:
    return _costs(fy, await year_settings.programme_costs(uow, fy))


# --------------------------------------------------------------------------------------------- projections


def _projection(p: Projection) -> ProjectionOut:
    return ProjectionOut(
        child_id=p.child_id, placement_type=p.placement_type, daily_rate=p.daily_rate,
        annual_cost_avoided=None if p.daily_rate is None else annual_cost_avoided(p.daily_rate), status=p.status,
        version=p.version, financial_year=label(p.rate_fy), basis=p.basis, changed_by=p.changed_by,
        changed_at=p.changed_at,
    )


@router.put("/children/{child_id}/projection", response_model=ProjectionOut)
async def verify_projection(child_id: uuid.UUID, body: ProjectionIn, uow: UoW, principal: Verifier,
                            request: Request) -> ProjectionOut:
    """The placements team confirms or changes a child's projection; it becomes `verified`. Without
    `daily_rate` the rate card of the referral's financial year applies. Every version is kept."""
    projection = await projections.verify_projection(
        uow, child_id, placement_type=body.placement_type.value, daily_rate=body.daily_rate, basis=body.basis,
        verified_by=body.verified_by, acting=_acting(principal, request),
    )
    out = _projection(projection)
    await uow.commit()
    return out


@router.get("/children/{child_id}/projection", response_model=ProjectionOut)
async def read_projection(child_id: uuid.UUID, uow: UoW, principal: FinanceReader, request: Request) -> ProjectionOut:
    projection = await projections.read_projection(uow, child_id, _acting(principal, request))
    out = _projection(projection)
    await uow.commit()  # the access log entry
    return out


@router.get("/children/{child_id}/projection/history", response_model=list[ProjectionVersionOut])
async def projection_history(child_id: uuid.UUID, uow: UoW, principal: FinanceReader,
                             request: Request) -> list[ProjectionVersionOut]:
    """Every version of the child's projection, oldest first: who, when, why, before and after."""
    versions = await projections.projection_history(uow, child_id, _acting(principal, request))
    out = [ProjectionVersionOut.model_validate(v, from_attributes=True) for v in versions]
    await uow.commit()
    return out


@router.get("/placement-rules", response_model=PlacementRulesOut)
async def read_placement_rules(uow: UoW, _principal: FinanceReader) -> PlacementRulesOut:
    """The rule in force that proposes a projection for each child of a new referral (first match decides)."""
    return PlacementRulesOut.model_validate((await placement_rules.rule_in_force(uow)).as_dict())


@router.put("/placement-rules", response_model=PlacementRulesOut)
async def set_placement_rules(body: PlacementRulesIn, uow: UoW, principal: FinanceWriter,
                              request: Request) -> PlacementRulesOut:
    """A new version of the rule, for referrals that arrive from now on; earlier proposals keep theirs."""
    rule_set = await placement_rules.add_rule_version(uow, body.model_dump(mode="json"), _acting(principal, request))
    await uow.commit()
    return PlacementRulesOut.model_validate(rule_set.as_dict())


# --------------------------------------------------------------------------------------------- figures


@router.get("/summary", response_model=list[SummaryOut])
async def summaries(
    uow: UoW,
    principal: FigureReader,
    request: Request,
    first: Annotated[int, Query(alias="from", ge=MIN_YEAR, le=MAX_YEAR, description="first financial year")],
    last: Annotated[int, Query(alias="to", ge=MIN_YEAR, le=MAX_YEAR, description="last financial year")],
) -> list[SummaryOut]:
    """One row per financial year from `from` to `to` (inclusive), oldest first: the strategy's table."""
    if first > last:
        raise Invalid(f"from ({first}) must not be after to ({last})", field="from")
    if last - first >= 50:
        raise Invalid("ask for at most 50 financial years at once", field="to")
    rows = breakdown_view.present(uow, principal, _acting(principal, request), await figures.summaries(uow, first, last))
    await uow.commit()
    return [SummaryOut.model_validate(s) for s in rows]


@router.get("/summary/{fy}", response_model=SummaryOut)
async def summary(fy: FinancialYear, uow: UoW, principal: FigureReader, request: Request) -> SummaryOut:
    """Savings method v1 for the financial year: children served, closed and diverted, savings against targets.
    Breakdowns: finance roles get each child (audited), anyone else counts per month (contract v1.1)."""
    [row] = breakdown_view.present(uow, principal, _acting(principal, request), [await figures.summary(uow, fy)])
    await uow.commit()
    return SummaryOut.model_validate(row)


@router.get("/value-for-money/{fy}", response_model=ValueForMoneyOut)
async def value_for_money(fy: FinancialYear, uow: UoW, _principal: FigureReader) -> ValueForMoneyOut:
    """Per programme: children served and diverted, savings, the programme's cost, net savings and cost per
    successful outcome (each diverted child is credited to one programme)."""
    rows = await figures.value_for_money(uow, fy)
    return ValueForMoneyOut(financial_year=label(fy), programmes=[ProgrammeValue.model_validate(r) for r in rows])


@router.get("/high-cost/{fy}", response_model=HighCostOut)
async def high_cost(
    fy: FinancialYear, uow: UoW, principal: FinanceReader, request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HighCostOut:
    """The share of the year's children whose projection costs £1,000 a day or more, and those projections
    (dearest first) for review."""
    page = await figures.high_cost(uow, fy, limit, offset, _acting(principal, request))
    await uow.commit()  # the access log entries
    return HighCostOut.model_validate(page).model_copy(update={"items": [
        HighCostItem(child_id=p.child_id, placement_type=p.placement_type, daily_rate=p.daily_rate,
                     annual_cost_avoided=annual_cost_avoided(p.daily_rate),  # type: ignore[arg-type]  # high-cost: rated
                     status=p.status, basis=p.basis,
                     diverted=entry.diverted, programme=entry.credited_programme)
        for entry, p in page.rows
    ]})


@router.get(
    "/board-report/{fy}/q/{quarter}",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}, "description": "the briefing paper"}},
)
async def board_report(
    fy: FinancialYear, quarter: Quarter, uow: UoW, _principal: FigureReader, request: Request,
    format: Annotated[Literal["html", "pdf"], Query(description="html (default) or pdf")] = "html",  # noqa: A002
) -> Response:
    """The Family Therapies Board's quarterly briefing paper (HTML with charts, or PDF)."""
    settings = request.app.state.runtime.settings
    if format == "pdf":
        pdf = await reporting.board_report_pdf(uow, settings, fy, quarter)
        name = f"board-report-{fy}-q{quarter}.pdf"
        return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})
    return Response(await reporting.board_report_html(uow, settings, fy, quarter), media_type="text/html; charset=utf-8")


# --------------------------------------------------------------------------------------------- operations


@router.post("/ledger/rebuild", response_model=RebuildOut)
async def rebuild_ledger(uow: UoW, principal: Ops, request: Request) -> RebuildOut:
    """Throw the savings ledger away and build it again from the facts learnt from events (ops)."""
    result = await ledgering.rebuild_ledger(uow, _acting(principal, request))
    await uow.commit()
    return RebuildOut.model_validate(result)
