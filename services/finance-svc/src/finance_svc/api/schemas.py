"""Request and response bodies of finance-svc (public contract v1 plus value for money and the ledger).

Money comes in as a JSON number of pounds with at most two decimals (MoneyIn) and goes out rounded half up
to the penny (MoneyOut); shares are fractions from 0 to 1.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, PlainSerializer, StrictInt, StrictStr

from eoc_shared.api import MoneyOut, StrictModel
from eoc_shared.text import Prose, Text
from finance_svc.domain.vocab import LEGAL_STATUSES, PLACEMENT_TYPES, PROGRAMMES, RISK_FACTORS

PlacementType = StrEnum("PlacementType", {code: code for code in PLACEMENT_TYPES})  # type: ignore[misc]
Programme = StrEnum("Programme", {code: code for code in PROGRAMMES})  # type: ignore[misc]

MAX_DAILY_RATE = Decimal(100_000)
MAX_TOTAL = Decimal(10) ** 13


def _pounds(limit: Decimal):  # noqa: ANN202
    """Pounds as a JSON number from 0 to `limit` with at most two decimals; never coerced from text or a bool.

    Checked here in full (rather than with eoc_shared.api.MoneyIn) so that an absurd magnitude such as
    1e300 is a 422 naming the field, never an arithmetic error.
    """

    def check(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise ValueError("must be an amount in pounds as a JSON number, e.g. 512.50")
        try:
            amount = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError("must be an amount in pounds") from exc
        if not amount.is_finite():
            raise ValueError("must be a finite amount")
        if amount < 0:
            raise ValueError("must not be negative")
        if amount > limit:
            raise ValueError(f"must not be more than {limit:,}")
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError("must have at most two decimal places (pence)")
        return amount

    return BeforeValidator(check)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


DailyRate = Annotated[Decimal, _pounds(MAX_DAILY_RATE),
                      Field(ge=0, le=MAX_DAILY_RATE, description="pounds a day, e.g. 512.50")]
Amount = Annotated[Decimal, _pounds(MAX_TOTAL), Field(ge=0, le=MAX_TOTAL, description="pounds, e.g. 1250000.00")]
# Text fields follow contract v1.1's policy (eoc_shared.text): no controls, NFC; `basis` is prose.
Basis = Annotated[Prose, Field(min_length=1, max_length=2000), AfterValidator(_not_blank)]
ShareOut = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


# --------------------------------------------------------------------------------------------- rates, targets, costs


class RateIn(StrictModel):
    placement_type: PlacementType  # type: ignore[valid-type]
    daily_rate: DailyRate


class RateOut(BaseModel):
    placement_type: str
    daily_rate: MoneyOut


class RateCardOut(BaseModel):
    financial_year: str
    rates: list[RateOut]
    projections_updated: int | None = Field(default=None, description="proposed projections that took the new rates")


class TargetsIn(StrictModel):
    children_diverted: StrictInt = Field(ge=0, le=10_000_000)
    gross_savings: Amount


class TargetsOut(BaseModel):
    financial_year: str
    children_diverted: int | None
    gross_savings: MoneyOut | None


class CostIn(StrictModel):
    programme: Programme  # type: ignore[valid-type]
    cost: Amount = Field(description="the programme team's cost for the year, in pounds")


class CostOut(BaseModel):
    programme: str
    cost: MoneyOut


class CostsOut(BaseModel):
    financial_year: str
    costs: list[CostOut]


# --------------------------------------------------------------------------------------------- projections


class ProjectionIn(StrictModel):
    placement_type: PlacementType  # type: ignore[valid-type]
    daily_rate: DailyRate | None = Field(default=None, description="default: the year's rate for the type")
    basis: Basis = Field(description="why this placement and rate (kept with the version)")
    verified_by: Text = Field(description="the placements officer who vouches for it")


class ProjectionOut(BaseModel):
    child_id: uuid.UUID
    placement_type: str
    daily_rate: MoneyOut | None = Field(description="null while the year's rate for the type is not set")
    annual_cost_avoided: MoneyOut | None
    status: str
    version: int
    financial_year: str = Field(description="the year whose rate card applies (that of the referral)")
    basis: str
    changed_by: str
    changed_at: datetime


class ProjectionVersionOut(BaseModel):
    version: int
    changed_by: str
    recorded_by: str
    changed_at: datetime
    basis: str
    before: dict[str, Any] | None
    after: dict[str, Any]


# --------------------------------------------------------------------------------------------- rule as data


class PlacementRuleIn(StrictModel):
    name: Annotated[Text, Field(max_length=80)]
    placement_type: PlacementType | None = None  # type: ignore[valid-type]
    legal_statuses: list[Annotated[StrictStr, AfterValidator(lambda v: _member(v, LEGAL_STATUSES))]] | None = None
    min_age_years: StrictInt | None = Field(default=None, ge=0, le=25)
    max_age_years: StrictInt | None = Field(default=None, ge=0, le=25)
    any_risk_factors: list[Annotated[StrictStr, AfterValidator(lambda v: _member(v, RISK_FACTORS))]] | None = None
    description: Annotated[Prose, Field(max_length=500)] = ""


def _member(value: str, allowed: frozenset[str]) -> str:
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(sorted(allowed))}")
    return value


class PlacementRulesIn(StrictModel):
    rules: list[PlacementRuleIn] = Field(min_length=1, max_length=50)


class PlacementRulesOut(BaseModel):
    version: int
    rules: list[dict[str, Any]]


# --------------------------------------------------------------------------------------------- figures


class TargetFigures(BaseModel):
    children_diverted: int | None
    gross_savings: MoneyOut | None


class Breakdown(BaseModel):
    child_id: uuid.UUID
    date: date
    living_situation: str


class BreakdownCount(BaseModel):
    """What a board member sees of breakdowns: counts, never a child id (contract v1.1)."""

    month: str = Field(description="YYYY-MM")
    living_situation: str
    children: int


class SummaryOut(BaseModel):
    financial_year: str
    families_served: int
    children_served: int
    children_closed: int
    children_diverted: int
    success_rate: ShareOut | None
    gross_savings_full_year_effect: MoneyOut
    gross_savings_in_year: MoneyOut
    average_annual_cost_avoided: MoneyOut | None
    high_cost_share: ShareOut | None
    targets: TargetFigures
    children_diverted_pct_of_target: int | None
    gross_savings_pct_of_target: int | None
    breakdowns: list[Breakdown] | list[BreakdownCount] = Field(
        description="finance roles: each child with the date; anyone else: counts per month and living_situation")


class ProgrammeValue(BaseModel):
    programme: str
    families_served: int
    children_served: int
    children_diverted: int
    gross_savings_full_year_effect: MoneyOut
    gross_savings_in_year: MoneyOut
    cost: MoneyOut | None
    net_savings: MoneyOut | None
    cost_per_successful_outcome: MoneyOut | None


class ValueForMoneyOut(BaseModel):
    financial_year: str
    programmes: list[ProgrammeValue]


class HighCostItem(BaseModel):
    child_id: uuid.UUID
    placement_type: str
    daily_rate: MoneyOut
    annual_cost_avoided: MoneyOut
    status: str
    basis: str
    diverted: bool
    programme: str | None


class HighCostOut(BaseModel):
    financial_year: str
    threshold_daily_rate: MoneyOut
    children_served: int
    high_cost_children: int
    high_cost_share: ShareOut | None
    total: int
    limit: int
    offset: int
    items: list[HighCostItem]


class RebuildOut(BaseModel):
    children: int
    families: int
    financial_years: int
    rebuilt_at: datetime
