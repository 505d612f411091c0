"""RFC 9457 problem+json for every error, with messages a person can act on; never a bare 500."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger("eoc.errors")
PROBLEM = "application/problem+json"


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class Unauthorized(DomainError):
    status, title = 401, "Not authenticated"


class Forbidden(DomainError):
    status, title = 403, "Forbidden"


class NotFound(DomainError):
    status, title = 404, "Not found"


class Conflict(DomainError):
    status, title = 409, "Conflict with the case's state"


class Invalid(DomainError):
    status, title = 422, "Invalid input"


def problem(status: int, title: str, detail: str, request: Request | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
        rid = getattr(request.state, "request_id", None)
        if rid:
            body["request_id"] = rid
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "missing":
        return "is required"
    if kind == "json_invalid":
        return "the request body is not valid JSON"
    return str(err.get("msg", "is invalid"))


def field_errors(errors: list[Any]) -> list[dict[str, str]]:
    """pydantic's errors as `[{field, message}]`, named as in every 422 answer."""
    return [{"field": _field(tuple(e.get("loc", ()))), "message": _message(e)} for e in errors]


def validation_problem(request: Request, errors: list[dict[str, Any]]) -> JSONResponse:
    items = [{"field": _field(tuple(e.get("loc", ()))), "message": _message(e)} for e in errors]
    detail = "; ".join(f"{i['field']}: {i['message']}" for i in items) or "the request is invalid"
    return problem(422, "Invalid input", detail, request, errors=items)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
        detail = f"{exc.field}: {exc.detail}" if exc.field and exc.field not in exc.detail else exc.detail
        return problem(exc.status, exc.title, detail, request, errors=errors, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(request, list(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Not authenticated", 403: "Forbidden"}
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"there is no resource at {request.url.path}"
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), detail, request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # One line, ids and codes only: the exception's text may quote bound values (SQL parameters).
        route = getattr(request.scope.get("route"), "path", None)
        log.error("request.failed", error=type(exc).__name__, method=request.method, route=route or "unmatched",
                  request_id=getattr(request.state, "request_id", None))
        return problem(
            500, "Unexpected error",
            "the service could not complete this request; nothing was changed. Quote the request id to support.",
            request,
        )


def install_outage_handlers(app: FastAPI) -> None:
    """A database that cannot be reached answers 503 with Retry-After; one log line per episode, no traceback.

    Registered for the exception classes a lost database raises; anything of those classes that is not an
    outage (a constraint violation is a DBAPIError too) goes to the app's catch-all handler unchanged.
    """
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from eoc_shared.outage import RETRY_AFTER_SECONDS, is_outage

    async def _outage(request: Request, exc: Exception) -> Any:
        if not is_outage(exc):
            fallback = request.app.exception_handlers.get(Exception)
            if fallback is None:
                raise exc
            return await fallback(request, exc)
        episodes = getattr(request.app.state, "outages", None)
        if episodes is not None:
            episodes.failed("database", exc)
        response = problem(
            503, "Service unavailable",
            f"the service's database cannot be reached just now; nothing was changed. Retry in {RETRY_AFTER_SECONDS} seconds.",
            request,
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    import asyncpg

    for cls in (DBAPIError, PoolTimeout, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        app.add_exception_handler(cls, _outage)
