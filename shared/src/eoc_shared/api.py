"""Request and response building blocks: strict input (no silent coercion), exact money out."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

PENNY = Decimal("0.01")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class StrictModel(BaseModel):
    """Request bodies: unknown fields are refused rather than silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


#: NUMERIC(14,2): twelve digits of pounds
MONEY_LIMIT = Decimal(10) ** 12


def _money_in(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError("must be an amount in pounds as a JSON number, e.g. 512.50")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError("must be an amount in pounds") from exc
    if not amount.is_finite():
        raise ValueError("must be a finite amount")
    if abs(amount) >= MONEY_LIMIT:
        raise ValueError(f"must be less than £{MONEY_LIMIT:,} (the most a money column holds)")
    if amount != amount.quantize(PENNY):
        raise ValueError("must have at most two decimal places (pence)")
    return amount


def pounds(value: Decimal) -> Decimal:
    """Round half up to the penny; only ever applied when presenting a figure."""
    return Decimal(value).quantize(PENNY, rounding=ROUND_HALF_UP)


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
MoneyIn = Annotated[Decimal, BeforeValidator(_money_in)]
MoneyOut = Annotated[Decimal, PlainSerializer(lambda d: float(pounds(d)), return_type=float, when_used="json")]
