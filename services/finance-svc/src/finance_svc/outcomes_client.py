"""Follow-up sustainability for the board paper, read from outcomes-svc's public API with finance's own token.

Nothing here may fail the paper: when outcomes-svc cannot be reached, refuses the token or answers
something unexpected, the answer is `Sustained(rates=None, problem=...)` and the paper prints a
"not available" section saying why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from eoc_shared.auth import dev_key_paths, issue_dev_token
from finance_svc.settings import FinanceSettings

CHECKPOINTS = ("6", "12", "18")


@dataclass(frozen=True)
class Sustained:
    rates: dict[str, Decimal | None] | None
    problem: str | None = None


_cached_token: dict[str, tuple[str, float]] = {}


async def _token(settings: FinanceSettings, client: httpx.AsyncClient) -> str | None:
    if settings.outcomes_token is not None:
        return settings.outcomes_token.get_secret_value()
    if settings.outcomes_token_url and settings.outcomes_client_id and settings.outcomes_client_secret:
        cached = _cached_token.get(settings.outcomes_token_url)
        if cached and cached[1] > time.monotonic() + 30:
            return cached[0]
        form = {"grant_type": "client_credentials", "client_id": settings.outcomes_client_id,
                "client_secret": settings.outcomes_client_secret.get_secret_value()}
        if settings.outcomes_token_scope:
            form["scope"] = settings.outcomes_token_scope
        r = await client.post(settings.outcomes_token_url, data=form)
        r.raise_for_status()
        body = r.json()
        _cached_token[settings.outcomes_token_url] = (body["access_token"],
                                                      time.monotonic() + float(body.get("expires_in", 300)))
        return str(body["access_token"])
    if settings.env != "production":
        private_key, _public = dev_key_paths(settings.data_dir)
        if private_key.exists():
            return issue_dev_token(settings.data_dir, settings.outcomes_token_role, subject="finance-svc",
                                   issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return None


def _rate(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("not a rate")
    try:
        rate = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError("not a rate") from exc
    if not rate.is_finite() or not 0 <= rate <= 1:
        raise ValueError("not a rate from 0 to 1")
    return rate


async def sustained(settings: FinanceSettings, fy: int) -> Sustained:
    """`sustained` from `GET /outcomes/summary?financial_year=fy`, or why it is not available."""
    base = settings.outcomes_url.rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=settings.outcomes_timeout_seconds) as client:
            token = await _token(settings, client)
            if token is None:
                return Sustained(None, "finance-svc has no credentials for outcomes-svc")
            r = await client.get(f"{base}/outcomes/summary", params={"financial_year": fy},
                                 headers={"Authorization": f"Bearer {token}"})
    except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
        return Sustained(None, f"outcomes-svc could not be reached ({type(exc).__name__})")
    if r.status_code != 200:
        return Sustained(None, f"outcomes-svc answered {r.status_code}")
    try:
        figures = r.json()["sustained"]
        rates = {m: _rate(figures.get(m)) for m in CHECKPOINTS}
    except (ValueError, KeyError, TypeError, AttributeError):
        return Sustained(None, "outcomes-svc's answer did not have the expected shape")
    return Sustained(rates)
