"""The dashboard's pieces without a browser: PKCE (RFC 7636), the signed session, sign-in refused in
production, charts with text alternatives, and CSVs that carry the same suppressed strings as the page."""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from eoc_dashboard import charts, oidc, views
from eoc_dashboard.api import Api
from eoc_dashboard.app import create_app
from eoc_dashboard.session import Session, seal, unseal
from eoc_dashboard.settings import DashboardSettings
from eoc_dashboard.tables import Table, share, suppressed_count, thousands


def test_pkce_verifier_and_s256_challenge_follow_rfc_7636() -> None:
    # The RFC's own example (Appendix B).
    assert oidc.code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    verifier = oidc.code_verifier()
    assert 43 <= len(verifier) <= 128 and set(verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert oidc.code_verifier() != verifier
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert oidc.code_challenge(verifier) == digest


def test_the_authorization_request_carries_the_challenge_and_state() -> None:
    provider = oidc.Provider("https://idp.example", "https://idp.example/auth", "https://idp.example/token")
    url, pending = oidc.start(provider, client_id="eoc-dashboard", redirect_uri="https://eoc.example/oidc/callback",
                              scope="openid")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["response_type"] == "code" and query["client_id"] == "eoc-dashboard"
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == oidc.code_challenge(pending.verifier)
    assert query["state"] == pending.state and pending.verifier not in url


async def test_the_token_request_sends_the_verifier() -> None:
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        return httpx.Response(200, json={"access_token": "a.b.c", "token_type": "Bearer"})

    provider = oidc.Provider("https://idp.example", "https://idp.example/auth", "https://idp.example/token")
    pending = oidc.Pending(state="s", nonce="n", verifier=oidc.code_verifier())
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        token = await oidc.exchange(client, provider, code="the-code", pending=pending, client_id="eoc-dashboard",
                                    redirect_uri="https://eoc.example/oidc/callback")
    assert token == "a.b.c"
    assert seen["grant_type"] == "authorization_code" and seen["code_verifier"] == pending.verifier


def test_a_session_cookie_cannot_be_altered_or_outlive_its_token() -> None:
    secret = b"k" * 32
    session = Session(token="t", role="board_member", subject="s", expires_at=int(time.time()) + 60)
    sealed = seal(secret, session)
    assert unseal(secret, sealed) == session
    body, mac = sealed.rsplit(".", 1)
    forged = seal(b"other", Session("t", "ops", "s", session.expires_at))
    assert unseal(secret, forged) is None
    assert unseal(secret, body + "." + mac[::-1]) is None
    assert unseal(secret, seal(secret, Session("t", "ops", "s", int(time.time()) - 1))) is None


async def test_development_sign_in_is_refused_in_production(tmp_path: Path) -> None:
    settings = DashboardSettings(env="production", data_dir=tmp_path, oidc_issuer="https://idp.example",
                                 oidc_client_id="eoc-dashboard", session_secret="s" * 32)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dash") as client:
        r = await client.post("/sign-in", content=b"role=ops", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 403 and "eoc_session" not in r.headers.get("set-cookie", "")
        page = await client.get("/sign-in")
        assert 'name="role"' not in page.text and "/oidc/login" in page.text
    assert not (tmp_path / "keys").exists()  # no development key was made
    with pytest.raises(ValueError, match="production"):
        DashboardSettings(env="production", data_dir=tmp_path)


def test_suppression_and_money_as_shown() -> None:
    assert [suppressed_count(n) for n in (0, 1, 4, 5, 10)] == ["0", "<5", "<5", "5", "10"]
    assert share(None, "not shown") == "not shown" and share("0.75") == "75.0%"
    assert thousands("7515234.56") == "£7,515k"
    table = Table("groups", "By group", ["Group", "Referred", "Eligible (rate)"], [["Chinese", "<5", "not shown"]])
    assert table.csv().splitlines()[1] == "Chinese,<5,not shown"


def test_charts_have_text_alternatives_and_draw_nothing_for_suppressed_values() -> None:
    svg = str(charts.bars("c1", "Referred by group", [charts.Bar("White", 10, "10"), charts.Bar("Chinese", None, "<5")]))
    assert 'role="img"' in svg and "<title" in svg and "Chinese: &lt;5" in svg
    assert svg.count("<rect") == 1
    line = str(charts.lines("c2", "Survival", [("0", 1.0), ("6", None), ("12", 0.8)]))
    assert "6: no data" in line and "<polyline" not in line  # a gap, not a line through a missing value
    assert str(charts.funnel("c3", "Funnel", [charts.Bar("Referred", 13, "13"), charts.Bar("Eligible", None, "<5")])).count("<rect") == 1


def _dead_letter(topic: str, consumer: str, age: int) -> dict[str, object]:
    return {"topic": topic, "consumer": consumer, "age_seconds": age, "status": "parked"}


async def test_ops_see_parked_dead_letters_per_topic_and_consumer_and_a_team_manager_fetches_none() -> None:
    asked: list[tuple[str, str]] = []
    parked = {
        "/eligibility/dlq": [_dead_letter("referral.created", "eligibility.referral.created", 7200),
                             _dead_letter("referral.created", "eligibility.referral.created", 30)],
        "/finance/dlq": [_dead_letter("referral.created", "finance.referral.created", 90000)],
        "/referrals/dlq": [], "/outcomes/dlq": [],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append((request.url.path, request.headers["Authorization"]))
        if request.url.path in parked:
            assert request.url.params["status"] == "parked"
            return httpx.Response(200, json=parked[request.url.path])
        return httpx.Response(404)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://platform") as client:
        page = await views.operations(Api(client, "ops-token"), "ops")
        table = next(t for t in page.tables if t.id == "dead-letters")
        assert table.rows == [["referral.created", "eligibility.referral.created", "2", "2 hours"],
                              ["referral.created", "finance.referral.created", "1", "1 day"]]
        assert table.csv().splitlines()[1] == "referral.created,eligibility.referral.created,2,2 hours"
        assert table.chart is not None and "referral.created: 3" in str(table.chart)
        assert {p for p, token in asked if p.endswith("/dlq") and token == "Bearer ops-token"} == set(parked)

        asked.clear()
        page = await views.operations(Api(client, "tm-token"), "team_manager")
        assert not any(p.endswith("/dlq") for p, _t in asked)  # what the role may not read is not asked for
        assert all(t.id != "dead-letters" for t in page.tables)
        assert page.notes == ["Dead letters (events a service could not process) are visible to operations staff."]

        parked["/finance/dlq"] = []
        parked["/eligibility/dlq"] = []
        page = await views.operations(Api(client, "ops-token"), "ops")
        empty = next(t for t in page.tables if t.id == "dead-letters")
        assert empty.rows == [] and empty.empty == "No dead letters parked."


async def test_a_dead_letter_api_that_does_not_answer_is_named_not_guessed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/finance/dlq":
            return httpx.Response(503)
        if request.url.path.endswith("/dlq"):
            return httpx.Response(200, json=[])
        return httpx.Response(404)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://platform") as client:
        page = await views.operations(Api(client, "ops-token"), "ops")
    assert any("finance" in what for what in page.unavailable)
    assert next(t for t in page.tables if t.id == "dead-letters").empty == "No dead letters parked."
