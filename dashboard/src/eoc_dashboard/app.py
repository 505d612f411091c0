"""Composition root of the dashboard: sign-in, the three views, CSV downloads, GOV.UK Frontend assets.

Pages are rendered on the server with the person's own token; the browser receives HTML, SVG and CSV,
never an API answer, so what a role may not read never reaches it.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from eoc_dashboard import oidc, views
from eoc_dashboard.api import Api
from eoc_dashboard.session import COOKIE, Session, seal, unseal
from eoc_dashboard.settings import DashboardSettings
from eoc_shared.auth import Role, issue_dev_token
from eoc_shared.clock import today

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
OIDC_COOKIE = "eoc_oidc"
SIGN_IN_ROLES = ("board_member", "finance_officer", "placements_officer", "team_manager", "ops")
ROLE_NAMES = {
    "board_member": "Board member", "finance_officer": "Finance officer", "placements_officer": "Placements officer",
    "team_manager": "Team manager", "ops": "Operations (ops)", "social_worker": "Social worker",
    "practitioner": "Practitioner",
}
Grouping = Literal["ethnic_group", "ethnicity", "primary_language", "interpreter_needed", "sex", "age_band"]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="the year it starts in")]
NO_STORE = {"Cache-Control": "no-store"}


def create_app(settings: DashboardSettings | None = None, api_app: Any = None) -> FastAPI:
    settings = settings or DashboardSettings()
    secret = (settings.session_secret or secrets.token_urlsafe(32)).encode()
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if api_app is not None:
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=api_app), base_url="http://platform", timeout=30)
        else:
            client = httpx.AsyncClient(base_url=settings.api_url or "http://127.0.0.1:8000", timeout=30)
        state["client"] = client
        # The identity provider is reached directly, never through the API client.
        state["idp"] = httpx.AsyncClient(timeout=15)
        try:
            yield
        finally:
            await client.aclose()
            await state["idp"].aclose()

    app = FastAPI(title="Edge of Care — dashboard", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings

    def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        session = unseal(secret, request.cookies.get(COOKIE))
        html = env.get_template(template).render(
            session=session, role_name=ROLE_NAMES.get(session.role, session.role) if session else None,
            nav=[(v, views.TITLES[v]) for v in views.views_for(session.role)] if session else [],
            current=request.url.path, **context,
        )
        return HTMLResponse(html, status_code=status_code, headers=NO_STORE)

    def signed_in(request: Request) -> Session | None:
        return unseal(secret, request.cookies.get(COOKIE))

    def start_session(role: str, subject: str, token: str, lifetime_s: int) -> RedirectResponse:
        session = Session(token=token, role=role, subject=subject, expires_at=int(time.time()) + lifetime_s)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, seal(secret, session), max_age=lifetime_s, httponly=True, samesite="lax",
                            secure=settings.secure_cookies, path="/")
        return response

    def api_for(session: Session) -> Api:
        return Api(state["client"], session.token)

    def guard(request: Request, view: str) -> Session | Response:
        session = signed_in(request)
        if session is None:
            return RedirectResponse("/sign-in", status_code=303)
        if session.role not in views.VIEWS[view]:
            return render(request, "refused.html", status_code=403, view=views.TITLES[view])
        return session

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return RedirectResponse("/sign-in", status_code=303)
        mine = views.views_for(session.role)
        if mine:
            return RedirectResponse(f"/{mine[0]}", status_code=303)
        return render(request, "no_view.html")

    @app.get("/sign-in", response_class=HTMLResponse)
    async def sign_in_page(request: Request) -> HTMLResponse:
        return render(request, "sign_in.html", development=settings.development_sign_in,
                      oidc=bool(settings.oidc_issuer and settings.oidc_client_id),
                      roles=[(r, ROLE_NAMES[r], ", ".join(views.TITLES[v] for v in views.views_for(r)))
                             for r in SIGN_IN_ROLES], error=None)

    @app.post("/sign-in")
    async def development_sign_in(request: Request) -> Response:
        """Development only: pick a role and get the same token `eoc token --role` prints."""
        if not settings.development_sign_in:
            return render(request, "refused_sign_in.html", status_code=403)
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        role = (form.get("role") or [""])[0]
        if role not in SIGN_IN_ROLES:
            return render(request, "sign_in.html", status_code=422, development=True, oidc=False,
                          roles=[(r, ROLE_NAMES[r], ", ".join(views.TITLES[v] for v in views.views_for(r)))
                                 for r in SIGN_IN_ROLES], error="Choose the role you want to sign in as")
        subject = f"dashboard-{role}-{secrets.token_hex(4)}"
        lifetime = timedelta(minutes=settings.session_minutes)
        token = issue_dev_token(settings.data_dir, Role(role).value, subject=subject, issuer=settings.jwt_issuer,
                                audience=settings.jwt_audience, lifetime=lifetime)
        return start_session(role, subject, token, int(lifetime.total_seconds()))

    @app.get("/oidc/login")
    async def oidc_login(request: Request) -> Response:
        if not (settings.oidc_issuer and settings.oidc_client_id):
            return render(request, "refused_sign_in.html", status_code=404)
        provider = await oidc.discover(state["idp"], settings.oidc_issuer)
        redirect_uri = settings.oidc_redirect_url or str(request.url_for("oidc_callback"))
        url, pending = oidc.start(provider, client_id=settings.oidc_client_id, redirect_uri=redirect_uri,
                                  scope=settings.oidc_scope)
        response = RedirectResponse(url, status_code=303)
        sealed = seal(secret, Session(token=json.dumps(vars(pending)), role="", subject="oidc",
                                      expires_at=int(time.time()) + 600))
        response.set_cookie(OIDC_COOKIE, sealed, max_age=600, httponly=True, samesite="lax",
                            secure=settings.secure_cookies, path="/oidc")
        return response

    @app.get("/oidc/callback", name="oidc_callback")
    async def oidc_callback(request: Request, code: str = "", state_: Annotated[str, Query(alias="state")] = "") -> Response:
        held = unseal(secret, request.cookies.get(OIDC_COOKIE))
        if held is None or not code:
            return render(request, "refused_sign_in.html", status_code=400)
        pending = oidc.Pending(**json.loads(held.token))
        if not secrets.compare_digest(pending.state, state_):
            return render(request, "refused_sign_in.html", status_code=400)
        assert settings.oidc_issuer and settings.oidc_client_id
        provider = await oidc.discover(state["idp"], settings.oidc_issuer)
        redirect_uri = settings.oidc_redirect_url or str(request.url_for("oidc_callback"))
        token = await oidc.exchange(state["idp"], provider, code=code, pending=pending,
                                    client_id=settings.oidc_client_id, redirect_uri=redirect_uri,
                                    client_secret=settings.oidc_client_secret)
        claims = oidc.unverified_claims(token)
        role, subject = str(claims.get("role", "")), str(claims.get("sub", ""))
        exp = claims.get("exp")
        lifetime = max(60, int(exp) - int(time.time())) if isinstance(exp, int | float) else settings.session_minutes * 60
        response = start_session(role, subject, token, lifetime)
        response.delete_cookie(OIDC_COOKIE, path="/oidc")
        return response

    @app.post("/sign-out")
    async def sign_out() -> Response:
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    def years() -> list[tuple[int, str]]:
        return [(y, views.fy_label(y)) for y in range(views.current_fy(today()), views.FIRST_YEAR - 1, -1)]

    async def build(view: str, session: Session, fy: int | None, by: str | None) -> views.Page:
        year = fy or views.current_fy(today())
        if view == "board":
            return await views.board(api_for(session), year, today())
        if view == "equity":
            return await views.equity(api_for(session), year, by or "ethnic_group")
        return await views.operations(api_for(session), session.role)

    async def page(request: Request, view: str, fy: int | None, by: str | None) -> Response:
        session = guard(request, view)
        if not isinstance(session, Session):
            return session
        built = await build(view, session, fy, by)
        return render(request, "view.html", page=built, years=years(), groupings=list(views.GROUPINGS.items()))

    @app.get("/board", response_class=HTMLResponse)
    async def board(request: Request, fy: Year = None) -> Response:
        return await page(request, "board", fy, None)

    @app.get("/equity", response_class=HTMLResponse)
    async def equity(request: Request, fy: Year = None, by: Grouping = "ethnic_group") -> Response:
        return await page(request, "equity", fy, by)

    @app.get("/operations", response_class=HTMLResponse)
    async def operations(request: Request) -> Response:
        return await page(request, "operations", None, None)

    @app.get("/{view}/{table}.csv")
    async def table_csv(request: Request, view: Literal["board", "equity", "operations"], table: str,
                        fy: Year = None, by: Grouping = "ethnic_group") -> Response:
        session = guard(request, view)
        if not isinstance(session, Session):
            return session
        built = await build(view, session, fy, by)
        found = next((t for t in built.tables if t.id == table), None)
        if found is None:
            return render(request, "not_found.html", status_code=404)
        name = f"{view}-{table}{'-' + str(built.fy) if built.fy else ''}{'-' + by if view == 'equity' else ''}.csv"
        return Response(found.csv(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE})

    @app.get("/board/paper/{fy}/q/{quarter}")
    async def board_paper(request: Request, fy: int, quarter: int, format: Literal["html", "pdf"] = "html") -> Response:  # noqa: A002
        """The quarterly paper, fetched with the person's own token (a link cannot carry it)."""
        session = guard(request, "board")
        if not isinstance(session, Session):
            return session
        r = await api_for(session).raw(f"/finance/board-report/{fy}/q/{quarter}", format=format)
        return Response(r.content, status_code=r.status_code,
                        media_type=r.headers.get("content-type", "application/octet-stream"),
                        headers={k: v for k, v in r.headers.items() if k.lower() == "content-disposition"})

    @app.get("/stylesheets/govuk-frontend.min.css", include_in_schema=False)
    async def govuk_css() -> Response:
        return _asset(settings.assets_dir / "govuk-frontend.min.css")

    @app.get("/stylesheets/dashboard.css", include_in_schema=False)
    async def own_css() -> Response:
        return _asset(STATIC / "dashboard.css")

    @app.get("/assets/{path:path}", include_in_schema=False)
    async def govuk_asset(path: str) -> Response:
        base = (settings.assets_dir / "assets").resolve()
        target = (base / path).resolve()
        if not target.is_relative_to(base):
            return Response(status_code=404)
        return _asset(target)

    return app


def _asset(path: Path) -> Response:
    if not path.is_file():
        return Response("asset missing: run `make install` (npm ci in dashboard/)", status_code=404, media_type="text/plain")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})
