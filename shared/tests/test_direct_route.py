"""DirectRoute: the hot write endpoints' handler answers exactly as FastAPI's would, and takes the short way only
for a plain success."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

import fastapi.routing
import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse

from eoc_shared.api import StrictModel
from eoc_shared.errors import Forbidden, Unauthorized, install_error_handlers
from eoc_shared.routing import DirectRoute


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class ThingIn(StrictModel):
    name: str
    count: int


class ThingOut(StrictModel):
    id: uuid.UUID
    name: str
    colour: Colour
    count: int


class Caller:
    """A token check of the kind DirectRoute calls with the request (as BearerPrincipal)."""

    async def __call__(self, request: Request) -> str:
        header = request.headers.get("authorization") or ""
        if not header.startswith("Bearer "):
            raise Unauthorized("a bearer token is required")
        if header != "Bearer good":
            raise Forbidden("not this one")
        return "caller-1"


Who = Annotated[str, Depends(Caller())]


def _app(route_class: type[fastapi.routing.APIRoute]) -> FastAPI:
    router = APIRouter(prefix="/things", route_class=route_class)

    @router.post("/{colour}/{owner}", status_code=status.HTTP_201_CREATED, response_model=ThingOut)
    async def make(colour: Colour, owner: uuid.UUID, body: ThingIn, who: Who, request: Request) -> ThingOut:
        assert who == "caller-1" and request.url.path.startswith("/things/")
        return ThingOut(id=owner, name=body.name, colour=colour, count=body.count)

    @router.post("/{colour}/raw", status_code=status.HTTP_202_ACCEPTED)
    async def raw(colour: Colour, body: ThingIn, who: Who) -> JSONResponse:
        return JSONResponse({"colour": colour.value, "name": body.name}, status_code=status.HTTP_202_ACCEPTED)

    @router.get("/{colour}/{owner}/read", response_model=ThingOut)  # no body
    async def read_one(colour: Colour, owner: uuid.UUID, who: Who) -> ThingOut:
        return ThingOut(id=owner, name=who, colour=colour, count=0)

    @router.get("/{colour}")  # not of the planned shape (a query parameter): FastAPI's handler serves it
    async def read(colour: Colour, who: Who, q: int = 0) -> dict[str, Any]:
        return {"colour": colour.value, "q": q}

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    return app


OWNER = "6f1c1f57-3a9b-4a57-9b2e-2e0e6d1c0b11"
GOOD = {"Authorization": "Bearer good"}
JSON = {"content-type": "application/json"}

#: (method, path, headers, body): every way a request can be refused, and the successes
CASES: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("POST", f"/things/red/{OWNER}", {**GOOD, **JSON}, b'{"name":"a","count":2}'),
    ("POST", f"/things/red/{OWNER}", {**GOOD, "content-type": "application/json; charset=utf-8"},
     b'{"name":"a","count":"2"}'),
    ("POST", "/things/blue/raw", {**GOOD, **JSON}, b'{"name":"b","count":1}'),
    ("POST", f"/things/red/{OWNER}", JSON, b'{"name":"a","count":2}'),  # no token
    ("POST", f"/things/red/{OWNER}", {"Authorization": "Bearer bad", **JSON}, b'{"name":"a","count":2}'),
    ("POST", f"/things/red/{OWNER}", {"Authorization": "Bearer bad", **JSON}, b'{"name":'),  # bad JSON first
    ("POST", f"/things/red/{OWNER}", {"Authorization": "Bearer bad", **JSON}, b'{"name":"a"}'),  # token first
    ("POST", f"/things/red/{OWNER}", {**GOOD, **JSON}, b'{"name":'),
    ("POST", f"/things/red/{OWNER}", {**GOOD, **JSON}, b""),
    ("POST", f"/things/red/{OWNER}", {**GOOD, **JSON}, b"[1,2]"),
    ("POST", f"/things/red/{OWNER}", {**GOOD, **JSON}, b'{"name":"a"}'),
    ("POST", f"/things/red/{OWNER}", {**GOOD, **JSON}, b'{"name":"a","count":2,"extra":1}'),
    ("POST", f"/things/red/{OWNER}", {**GOOD, **JSON}, b'{"name":"a","count":"two"}'),
    ("POST", f"/things/green/{OWNER}", {**GOOD, **JSON}, b'{"name":"a","count":2}'),
    ("POST", "/things/red/not-a-uuid", {**GOOD, **JSON}, b'{"name":"a","count":2}'),
    ("POST", "/things/green/not-a-uuid", {**GOOD, **JSON}, b'{"name":"a","count":"x"}'),
    ("POST", f"/things/red/{OWNER}", {**GOOD, "content-type": "text/plain"}, b'{"name":"a","count":2}'),
    ("POST", f"/things/red/{OWNER}", GOOD, b'{"name":"a","count":2}'),  # no content type
    ("POST", f"/things/red/{OWNER}", {**GOOD, "content-type": "application/merge-patch+json"},
     b'{"name":"a","count":2}'),
    ("GET", f"/things/red/{OWNER}/read", GOOD, None),
    ("GET", f"/things/red/{OWNER}/read", {**GOOD, "content-type": "text/plain"}, b"anything"),
    ("GET", f"/things/red/{OWNER}/read", {}, None),
    ("GET", "/things/red/nope/read", GOOD, None),
    ("GET", "/things/red?q=3", GOOD, None),
    ("GET", "/things/red?q=x", GOOD, None),
]


async def _answer(app: FastAPI, method: str, path: str, headers: dict[str, str],
                  body: bytes | None) -> tuple[int, dict[str, str], bytes]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.request(method, path, headers=headers, content=body)
    kept = {k: v for k, v in response.headers.items() if k in ("content-type", "content-length")}
    return response.status_code, kept, response.content


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "path", "headers", "body"), CASES)
async def test_answers_exactly_as_fastapis_handler(method: str, path: str, headers: dict[str, str],
                                                    body: bytes | None) -> None:
    direct = await _answer(_app(DirectRoute), method, path, headers, body)
    generic = await _answer(_app(fastapi.routing.APIRoute), method, path, headers, body)
    assert direct == generic


@pytest.mark.asyncio
async def test_a_plain_success_does_not_go_through_fastapis_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    solved: list[str] = []
    original = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        solved.append(kwargs["request"].url.path)
        return await original(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    app = _app(DirectRoute)
    ok = await _answer(app, "POST", f"/things/blue/{OWNER}", {**GOOD, **JSON}, b'{"name":"a","count":2}')
    assert ok[0] == 201
    assert ok[2] == f'{{"id":"{OWNER}","name":"a","colour":"blue","count":2}}'.encode()
    assert solved == []
    refused = await _answer(app, "POST", f"/things/blue/{OWNER}", {**GOOD, **JSON}, b'{"name":"a"}')
    assert refused[0] == 422
    read = await _answer(app, "GET", f"/things/red/{OWNER}/read", GOOD, None)
    assert read[0] == 200 and solved == [f"/things/blue/{OWNER}"]
    await _answer(app, "GET", "/things/red", GOOD, None)
    assert solved == [f"/things/blue/{OWNER}", "/things/red"]
