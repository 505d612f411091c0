"""finance's credentials towards outcomes-svc, and what the board paper gets when outcomes cannot answer."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import jwt
import pytest

from eoc_shared.auth import ensure_dev_keypair
from eoc_shared.broker import free_port
from finance_svc.outcomes_client import _rate, _token, sustained
from finance_svc.settings import FinanceSettings


async def test_a_static_token_wins(tmp_path: Path) -> None:
    settings = FinanceSettings(env="test", data_dir=tmp_path, outcomes_token="abc.def.ghi")
    async with httpx.AsyncClient() as client:
        assert await _token(settings, client) == "abc.def.ghi"


async def test_outside_production_a_development_token_is_signed_with_the_data_dirs_key(tmp_path: Path) -> None:
    settings = FinanceSettings(env="development", data_dir=tmp_path)
    async with httpx.AsyncClient() as client:
        assert await _token(settings, client) is None  # no key in the data dir: none is made up
        ensure_dev_keypair(tmp_path)
        token = await _token(settings, client)
    assert token is not None
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["role"], claims["sub"], claims["aud"]) == ("board_member", "finance-svc", "eoc")


async def test_unreachable_outcomes_is_not_available_with_the_reason(tmp_path: Path) -> None:
    ensure_dev_keypair(tmp_path)
    settings = FinanceSettings(env="test", data_dir=tmp_path, outcomes_url=f"http://127.0.0.1:{free_port()}",
                               outcomes_timeout_seconds=1)
    got = await sustained(settings, 2023)
    assert got.rates is None
    assert got.problem is not None and "could not be reached" in got.problem


async def test_without_credentials_it_says_so(tmp_path: Path) -> None:
    settings = FinanceSettings(env="test", data_dir=tmp_path, outcomes_url=f"http://127.0.0.1:{free_port()}")
    got = await sustained(settings, 2023)
    assert got.rates is None and got.problem == "finance-svc has no credentials for outcomes-svc"


def test_rates_from_outcomes_are_fractions_from_0_to_1() -> None:
    assert _rate(None) is None
    assert _rate(0.75) == Decimal("0.75")
    for bad in (True, 1.5, -0.1, "x", [0.5], float("nan")):
        with pytest.raises(ValueError):
            _rate(bad)
