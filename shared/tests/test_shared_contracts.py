"""The shared library's promises: strict input, tokens checked properly, thin events, exact money."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import jwt
import pytest
from pydantic import ValidationError

from eoc_shared.api import IsoDate, MoneyIn, MoneyOut, StrictModel
from eoc_shared.auth import Role, Scope, TokenVerifier, ensure_dev_keypair, issue_dev_token
from eoc_shared.errors import Unauthorized
from eoc_shared.events import asyncapi
from eoc_shared.events.bus import Consumers, PoisonMessage
from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import CATALOGUE, ChildFacts, ReferralCreated
from eoc_shared.finyear import financial_year_of, label, year_end, year_start
from eoc_shared.logging import redact
from eoc_shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


class Body(StrictModel):
    on: IsoDate
    amount: MoneyIn
    flag: bool | None = None


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as err:
        Body.model_validate({"on": "2024-01-02", "amount": 1, "colour": "red"})
    assert err.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize("value", [20240102, "02/01/2024", "2024-1-2", True, None])
def test_dates_must_be_iso_strings(value: object) -> None:
    with pytest.raises(ValidationError):
        Body.model_validate({"on": value, "amount": 1})


@pytest.mark.parametrize("value", ["12.50", True, 1.005, float("nan"), 1e276, 10**12, -(10**12)])
def test_money_must_be_a_number_in_pence(value: object) -> None:
    with pytest.raises(ValidationError):
        Body.model_validate({"on": "2024-01-02", "amount": value})


def test_the_largest_amount_a_money_column_holds_is_accepted() -> None:
    assert Body.model_validate({"on": "2024-01-02", "amount": 999_999_999_999.99}).amount == Decimal("999999999999.99")


def test_money_is_exact_and_presented_to_the_penny() -> None:
    body = Body.model_validate({"on": "2024-01-02", "amount": 512.1})
    assert body.amount == Decimal("512.1")

    class Out(StrictModel):
        amount: MoneyOut

    assert json.loads(Out(amount=Decimal("0.125")).model_dump_json()) == {"amount": 0.13}
    assert json.loads(Out(amount=Decimal("186880.00")).model_dump_json()) == {"amount": 186880.0}


def test_financial_years_start_on_1_april() -> None:
    assert financial_year_of(date(2024, 3, 31)) == 2023
    assert financial_year_of(date(2024, 4, 1)) == 2024
    assert (year_start(2023), year_end(2023), label(2023)) == (date(2023, 4, 1), date(2024, 3, 31), "2023/24")
    assert label(2099) == "2099/00"


def test_production_refuses_the_development_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOC_ENV", "production")
    with pytest.raises(ValidationError, match="development signing key"):
        ServiceSettings()
    monkeypatch.setenv("EOC_JWKS_URL", "https://idp.example.gov.uk/.well-known/jwks.json")
    monkeypatch.setenv("EOC_JWT_ISSUER", "https://idp.example.gov.uk")
    assert ServiceSettings().env == "production"


class _Settings(ServiceSettings):
    pass


@pytest.fixture()
def verifier(tmp_path: Path) -> TokenVerifier:
    ensure_dev_keypair(tmp_path)
    return TokenVerifier(_Settings(data_dir=tmp_path))


def test_a_valid_token_maps_its_role_to_scopes(verifier: TokenVerifier, tmp_path: Path) -> None:
    principal = verifier.verify(issue_dev_token(tmp_path, "board_member", subject="cllr-7"))
    assert principal.actor == "cllr-7" and principal.role is Role.BOARD_MEMBER
    assert principal.can(Scope.REPORTS_READ) and not principal.can(Scope.CASES_READ)


@pytest.mark.parametrize(
    "tamper",
    ["expired", "wrong_audience", "wrong_issuer", "other_key", "unknown_role", "garbage"],
)
def test_bad_tokens_are_refused(verifier: TokenVerifier, tmp_path: Path, tamper: str) -> None:
    if tamper == "expired":
        token = issue_dev_token(tmp_path, "ops", lifetime=timedelta(seconds=-5))
    elif tamper == "wrong_audience":
        token = issue_dev_token(tmp_path, "ops", audience="someone-else")
    elif tamper == "wrong_issuer":
        token = issue_dev_token(tmp_path, "ops", issuer="https://evil.example")
    elif tamper == "other_key":
        other = tmp_path / "other"
        token = issue_dev_token(other, "ops")
    elif tamper == "unknown_role":
        key = (tmp_path / "keys" / "dev-signing.pem").read_bytes()
        from cryptography.hazmat.primitives import serialization

        token = jwt.encode(
            {"iss": "eoc-dev", "aud": "eoc", "sub": "x", "exp": 9999999999, "role": "superuser"},
            serialization.load_pem_private_key(key, None), algorithm="EdDSA",
        )
    else:
        token = "not.a.token"
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_partner_tokens_name_their_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="source"):
        issue_dev_token(tmp_path, "partner_feed")


def _created() -> ReferralCreated:
    return ReferralCreated(
        referral_id=uuid.uuid4(), family_id=uuid.uuid4(), referred_on=date(2024, 5, 1), source="social_worker",
        risk_factors=["behaviour"], threshold_for_removal_met=True,
        children=[ChildFacts(child_id=uuid.uuid4(), age_years=14, legal_status="CPP")],
    )


def test_envelope_is_cloudevents_with_a_versioned_type() -> None:
    env = build_envelope("referral.created", key="k", data=_created(), source="urn:eoc:referral")
    assert env["specversion"] == "1.0" and env["type"] == "referral.created.v1" and env["_topic"] == "referral.created"
    assert {"id", "source", "time", "subject", "data"} <= env.keys()
    with pytest.raises(TypeError):
        build_envelope("eligibility.decided", key="k", data=_created(), source="urn:eoc:referral")


def test_no_event_schema_has_a_direct_identifier() -> None:
    forbidden = {"given_name", "family_name", "name", "date_of_birth", "nhs_number", "address", "postcode", "summary"}
    for spec in CATALOGUE.values():
        schema = json.dumps(spec.model.model_json_schema())
        assert not any(f'"{field}"' in schema for field in forbidden), spec.topic


def test_consumer_rejects_poison_at_once() -> None:
    spec = CATALOGUE["referral.created"]
    with pytest.raises(PoisonMessage, match="envelope"):
        Consumers.decode(spec, b"{not json")
    env = build_envelope("referral.created", key="k", data=_created(), source="urn:eoc:referral")
    env = {k: v for k, v in env.items() if not k.startswith("_")}
    env["data"]["children"] = []
    with pytest.raises(PoisonMessage, match="data.children"):
        Consumers.decode(spec, json.dumps(env).encode())
    env["type"] = "referral.created.v9"
    with pytest.raises(PoisonMessage, match="version"):
        Consumers.decode(spec, json.dumps(env).encode())


def test_logs_redact_personal_data() -> None:
    out = redact(None, "info", {"event": "x", "given_name": "Amy", "nhs_number": "9434765919", "child_id": "c1"})
    assert out == {"event": "x", "given_name": "[redacted]", "nhs_number": "[redacted]", "child_id": "c1"}


def test_committed_asyncapi_matches_the_schemas() -> None:
    committed = (ROOT / "docs" / "asyncapi.json").read_text()
    assert committed == asyncapi.render(), "docs/asyncapi.json is stale: run `make asyncapi`"
