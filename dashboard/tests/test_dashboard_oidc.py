"""Sign-in with OpenID Connect, authorization code + PKCE, against a real provider (npm oidc-provider) in a
real browser: the dashboard runs as in production (development sign-in refused), the person signs in at the
provider, and the access token the dashboard then sends is the one the APIs verify (eoc_shared's
TokenVerifier over the provider's JWKS: issuer, audience, signature, role)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from eoc_dashboard.app import create_app
from eoc_dashboard.settings import DashboardSettings
from eoc_shared.auth import Principal, TokenVerifier
from eoc_shared.broker import free_port
from eoc_shared.settings import ServiceSettings

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api")

HERE = Path(__file__).resolve().parent
PROVIDER = HERE / "oidc_provider.mjs"
CHROMIUM = os.environ.get("EOC_CHROMIUM", "/usr/bin/chromium")


def _wait(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "did not start in time"
        time.sleep(0.1)


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[str, int]]:
    node = shutil.which("node")
    if node is None or not (HERE.parent / "node_modules" / "oidc-provider").exists():
        pytest.skip("node and npm oidc-provider are needed (make install runs npm ci in dashboard/)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    port, dashboard_port = free_port(), free_port()
    process = subprocess.Popen([node, str(PROVIDER), str(port), f"http://127.0.0.1:{dashboard_port}/oidc/callback",
                                "board_member"], cwd=HERE.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        issuer = f"http://127.0.0.1:{port}"
        _wait(lambda: _up(f"{issuer}/.well-known/openid-configuration"))
        yield issuer, dashboard_port
    finally:
        process.terminate()
        process.wait(10)


def test_oidc_authorization_code_with_pkce_yields_the_token_the_apis_verify(provider: tuple[str, int], tmp_path: Path) -> None:
    issuer, port = provider
    verifier = TokenVerifier(ServiceSettings(env="test", jwks_url=f"{issuer}/jwks", jwt_issuer=issuer, jwt_audience="eoc"))
    seen: list[Principal] = []

    async def any_api(request: Request) -> JSONResponse:
        """Stands in for the services: verifies the bearer token exactly as each of them does."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        seen.append(verifier.verify(token))
        return JSONResponse({"status": 404}, status_code=404)

    api = Starlette(routes=[Route("/{path:path}", any_api)])
    settings = DashboardSettings(env="production", data_dir=tmp_path, oidc_issuer=issuer, oidc_client_id="eoc-dashboard",
                                 oidc_redirect_url=f"http://127.0.0.1:{port}/oidc/callback", session_secret="s" * 40)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, api_app=api), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: _up(f"http://127.0.0.1:{port}/healthz"))
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(base_url=f"http://127.0.0.1:{port}")
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto("/sign-in")
            assert page.locator("input[name=role]").count() == 0  # production: no development sign-in
            page.get_by_role("button", name="Sign in with your council account").click()
            page.wait_for_url(f"{issuer}/**")
            page.fill("input[name=login]", "board-1")
            page.fill("input[name=password]", "any")
            page.locator("button[type=submit]").click()
            page.wait_for_url(f"http://127.0.0.1:{port}/board")
            nav = page.locator("nav[aria-label=Views] a").all_text_contents()
            browser.close()
        authorize = next(u for u in requests if u.startswith(f"{issuer}/auth?"))
        assert "code_challenge_method=S256" in authorize and "code_challenge=" in authorize
        assert [n.strip() for n in nav] == ["Board", "Equity"]
        assert seen, "the dashboard called the APIs with the person's token"
        assert {(s.actor, s.role.value) for s in seen} == {("board-1", "board_member")}
    finally:
        server.should_exit = True
        thread.join(10)
