"""Hostile input against every endpoint, found from the four OpenAPI documents (contract v1.1).

Nothing here lists endpoints or fields by hand: a new endpoint or field is covered the day it is
published. Every string field of every request body refuses each C0 and C1 control, DEL, the bidi
overrides and isolates (U+202E among them), lone surrogates and a 1 MB string with 422 naming the
field (prose fields, marked `x-text: prose`, keep newline and tab). Every query parameter refuses
out-of-range numbers (2**63, 10**30, -1) and hostile strings with 422, never a 500.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from eoc_shared.text import BIDI_CONTROLS

PREFIXES = {"referral": "referrals", "eligibility": "eligibility", "outcomes": "outcomes", "finance": "finance"}
OPEN = re.compile(r"/(healthz|readyz|docs|openapi\.json|metrics)$")
ROLES = ("ops", "team_manager", "social_worker", "finance_officer", "placements_officer", "practitioner",
         "board_member", "partner_feed")

CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]
HOSTILE = [f"ab{c}cd" for c in [*CONTROLS, *sorted(BIDI_CONTROLS), "\ud800", "\udfff"]] + ["x" * (1024 * 1024)]
PROSE_WHITESPACE = {"ab\ncd", "ab\tcd"}
HOSTILE_NUMBERS = ["-1", str(2**63), str(10**30), "1e3", "NaN"]
HOSTILE_QUERY_TEXT = ["ab\x00cd", "ab\u202ecd", "ab\x1bcd", "x" * 10_000]
HOSTILE_DATES = ["9999-99-99", "0000-01-01", "2024-02-30"]


def _body(value: Any) -> bytes:
    # json.dumps escapes a lone surrogate as \ud800, which JSON allows; httpx's own encoder would refuse it.
    return json.dumps(value).encode()


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _choose(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [_resolve(spec, s) for s in schema[key] if _resolve(spec, s).get("type") != "null"]
            return _choose(spec, options[0]) if options else {"type": "null"}
    return schema


def example(spec: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value of the schema (the tests need the shape, not a valid request)."""
    schema = _choose(spec, schema)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 6:
            return {}
        return {name: example(spec, sub, depth + 1) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(spec, schema.get("items", {}), depth + 1) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "string":
        return {"date": "2024-05-01", "date-time": "2024-05-01T10:00:00Z", "uuid": str(uuid.uuid4())}.get(
            schema.get("format", ""), "x")
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    return None


def string_fields(spec: dict[str, Any], schema: dict[str, Any], path: tuple[Any, ...] = (),
                  depth: int = 0) -> Iterator[tuple[tuple[Any, ...], bool]]:
    """Every string leaf of a request body: (path, is it prose)."""
    schema = _choose(spec, schema)
    if depth > 6:
        return
    if schema.get("type") == "string":
        yield path, schema.get("x-text") == "prose"
    elif schema.get("type") == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            yield from string_fields(spec, sub, (*path, name), depth + 1)
    elif schema.get("type") == "array":
        yield from string_fields(spec, schema.get("items", {}), (*path, 0), depth + 1)


def _set(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    body = copy.deepcopy(body)
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


def concrete(path: str) -> str:
    path = re.sub(r"\{[^}]*(year|fy)[^}]*\}", "2024", path)
    path = re.sub(r"\{quarter\}", "1", path)
    path = re.sub(r"\{source\}", "police", path)
    path = re.sub(r"\{programme\}", "MST", path)
    path = re.sub(r"\{version\}", "1", path)
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


async def _operations(platform) -> list[tuple[httpx.AsyncClient, dict[str, Any], str, str, dict[str, Any]]]:
    found = []
    for name, prefix in PREFIXES.items():
        client = platform.clients[name]
        spec = (await client.get(f"/{prefix}/openapi.json")).json()
        for path, methods in spec["paths"].items():
            if OPEN.search(path):
                continue
            for method, operation in methods.items():
                found.append((client, spec, method.upper(), path, operation))
    return found


def _probe(skeleton: Any) -> bytes:
    """A body every endpoint refuses (an unknown field) once the role is let in: finding the role writes nothing."""
    if isinstance(skeleton, dict):
        return _body({**skeleton, "__probe__": 1})
    if isinstance(skeleton, list) and skeleton and isinstance(skeleton[0], dict):
        return _body([{**skeleton[0], "__probe__": 1}])
    return _body(skeleton)


async def _allowed(client: httpx.AsyncClient, auth, method: str, path: str, **kwargs: Any) -> dict[str, str]:
    """The headers of the first role the endpoint lets in (401/403 otherwise); the request must be one the
    endpoint refuses with 422, so that nothing is done."""
    for role in ROLES:
        headers = {**auth(role, source="police" if role == "partner_feed" else None), "content-type": "application/json"}
        r = await client.request(method, path, headers=headers, **kwargs)
        if r.status_code not in (401, 403):
            return headers
    pytest.fail(f"no role may call {method} {path}")


def _names(r: httpx.Response) -> set[str]:
    return {e.get("field") for e in r.json().get("errors") or []} | {r.json().get("detail", "")}


def _named(r: httpx.Response, field: str) -> bool:
    """The problem names the field, or the element holding it (a tagged union names the member)."""
    names = [n for n in _names(r) if n]
    return any(n == field or field.startswith(f"{n}.") or n.startswith(f"{field}.") or f"{field}:" in n for n in names)


async def test_every_string_field_of_every_request_body_refuses_hostile_text(platform, auth) -> None:
    checked: set[tuple[str, str, str]] = set()
    failures = []
    for client, spec, method, path, operation in await _operations(platform):
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content is None:
            continue
        schema = content["schema"]
        skeleton = example(spec, schema)
        url = concrete(path)
        headers = await _allowed(client, auth, method, url, content=_probe(skeleton))
        for field_path, prose in string_fields(spec, schema):
            field = ".".join(str(p) for p in field_path)
            for hostile in HOSTILE:
                if prose and hostile in PROSE_WHITESPACE:
                    continue
                r = await client.request(method, url, headers=headers, content=_body(_set(skeleton, field_path, hostile)))
                if r.status_code != 422 or not _named(r, field):
                    failures.append((method, path, field, repr(hostile[:8]), r.status_code, r.text[:160]))
            checked.add((method, path, field))
    assert not failures, sorted({f[:3] + (f[4],) for f in failures})[:40]
    # the OpenAPI documents publish text fields in every service (the walk found them)
    assert {p.split("/")[1] for _m, p, _f in checked} >= {"referrals", "eligibility", "finance"}, checked
    assert any(f == "given_name" for _m, _p, f in checked) and any(f == "verified_by" for _m, _p, f in checked)


async def test_prose_keeps_newline_and_tab_and_text_is_stored_in_nfc(platform, auth) -> None:
    sw = auth("social_worker")
    r = await platform.request("POST", "/referrals/families", headers=sw, json={
        "la_reference": "FAM-NFC-" + uuid.uuid4().hex[:6], "postcode_district": "LS6", "primary_language": "en",
        "interpreter_needed": False})
    assert r.status_code == 201, r.text
    decomposed = "Zoe\u0301"  # e + combining acute: NFC is the single character é
    r = await platform.request("POST", f"/referrals/families/{r.json()['id']}/children", headers=sw, json={
        "la_child_id": "CH-" + uuid.uuid4().hex[:8], "given_name": decomposed, "family_name": "Test",
        "date_of_birth": "2012-01-01", "sex": "F", "ethnicity": "WBRI", "legal_status": "CPP"})
    assert r.status_code == 201, r.text
    assert r.json()["given_name"] == "Zo\u00e9"
    feed = auth("partner_feed", source="police")
    r = await platform.request("POST", "/referrals/feeds/police/events", headers=feed, json={
        "external_id": "ext-" + uuid.uuid4().hex, "occurred_at": "2024-05-01T10:00:00Z",
        "child": {"la_child_id": "CH-UNKNOWN-1"}, "kind": "arrest", "summary": "line one\n\tline two"})
    assert r.status_code == 202, r.text


async def test_every_query_parameter_refuses_hostile_values(platform, auth) -> None:
    failures = []
    checked = 0
    for client, spec, method, path, operation in await _operations(platform):
        params = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
        if not params:
            continue
        url = concrete(path)
        headers = await _allowed(client, auth, method, url, params={params[0]["name"]: "\x00" * 10_001},
                                 content=_probe(example(spec, operation.get("requestBody", {}).get("content", {}).get(
                                     "application/json", {}).get("schema", {}))))
        for param in params:
            schema = _choose(spec, param.get("schema", {}))
            if schema.get("type") == "array":
                schema = _choose(spec, schema.get("items", {}))
            if schema.get("type") in ("integer", "number"):
                values = HOSTILE_NUMBERS
            elif schema.get("type") == "string":
                values = HOSTILE_QUERY_TEXT + (HOSTILE_DATES if "pattern" in schema or schema.get("format") == "date"
                                                else [])
            else:
                continue
            for value in values:
                r = await client.request(method, url, params={param["name"]: value}, headers=headers)
                if r.status_code != 422 or not _named(r, param["name"]):
                    failures.append((method, path, param["name"], value[:20], r.status_code, r.text[:160]))
                checked += 1
    assert not failures, sorted({f[:4] + (f[4],) for f in failures})[:40]
    assert checked > 40


@pytest.mark.parametrize("path", ["/referrals", "/referrals/interventions", "/referrals/feeds/review"])
@pytest.mark.parametrize("offset", ["100000000000000000000000000000", "9223372036854775808"])
async def test_the_offsets_of_the_report_are_refused(platform, auth, path: str, offset: str) -> None:
    """The issue's cases, by name: these were 500 OverflowError."""
    r = await platform.request("GET", path, params={"offset": offset}, headers=auth("team_manager"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert any(e["field"] == "offset" for e in r.json()["errors"])
