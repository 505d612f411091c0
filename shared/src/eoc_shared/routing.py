"""A route class for the hot write endpoints: FastAPI's checks, without its generic request machinery on the
happy path.

FastAPI answers every request through one generic handler that solves the endpoint's parameters afresh:
dependency cache keys, security-scope bookkeeping, parameter and body extraction by kind, an exit stack. On a
partner feed event that was a fifth of the service's CPU (`docs/performance.md`). `DirectRoute` plans the
endpoint's parameters once, when the route is built, and on each request validates them with the same
fields FastAPI would use. Whatever is not a plain success — a content type other than JSON, JSON that does
not parse, a field or path parameter that fails — is handed to FastAPI's own handler, so every error answer
is FastAPI's, word for word. The OpenAPI document is built from the same declaration, unchanged.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, serialize_response
from fastapi.utils import is_body_allowed_for_status_code

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True)
class _Plan:
    """What an endpoint takes, when `DirectRoute` can take it directly: path parameters, at most one JSON
    body, dependencies that need only the request (the token check), and the request itself."""

    path: tuple[tuple[str, str, Any], ...]  # (parameter name, alias in the path, field)
    body: tuple[str, Any] | None  # (parameter name, field)
    dependencies: tuple[tuple[str, Callable[[Request], Awaitable[Any]]], ...]
    request: str | None

    @classmethod
    def of(cls, dependant: Dependant, embed_body: bool) -> _Plan | None:
        """The plan, or None when the endpoint takes anything else (FastAPI's handler then serves it)."""
        if (dependant.query_params or dependant.header_params or dependant.cookie_params or embed_body
                or len(dependant.body_params) > 1 or dependant.response_param_name
                or dependant.background_tasks_param_name or dependant.security_scopes_param_name
                or dependant.websocket_param_name or dependant.http_connection_param_name
                or not inspect.iscoroutinefunction(dependant.call)):
            return None
        dependencies = []
        for sub in dependant.dependencies:
            call = sub.call
            if (call is None or sub.name is None or sub.dependencies or sub.path_params or sub.query_params
                    or sub.header_params or sub.cookie_params or sub.body_params or sub.request_param_name is None
                    or sub.security_scopes_param_name or sub.response_param_name
                    or sub.background_tasks_param_name
                    or not _is_async(call)):
                return None
            dependencies.append((sub.name, call))
        body = (dependant.body_params[0].name, dependant.body_params[0]) if dependant.body_params else None
        return cls(path=tuple((f.name, f.alias, f) for f in dependant.path_params), body=body,
                   dependencies=tuple(dependencies), request=dependant.request_param_name)


def _is_async(call: Callable[..., Any]) -> bool:
    """An async function, or an object whose `__call__` is one (as BearerPrincipal)."""
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__)


def _is_json(content_type: str | None) -> bool:
    return content_type is not None and (content_type == "application/json"
                                         or content_type.startswith("application/json;"))


class DirectRoute(APIRoute):
    """Use as `APIRouter(route_class=DirectRoute)` for endpoints of the `_Plan` shape; any other endpoint on
    such a router is served by FastAPI's handler as usual."""

    def get_route_handler(self) -> Handler:
        generic = super().get_route_handler()
        plan = _Plan.of(self.dependant, self._embed_body_fields)
        if plan is None:
            return generic
        endpoint = self.dependant.call
        assert endpoint is not None
        route = self
        use_dump_json = self.response_field is not None and isinstance(self.response_class, DefaultPlaceholder)
        response_class = (self.response_class.value if isinstance(self.response_class, DefaultPlaceholder)
                          else self.response_class)

        async def handle(request: Request) -> Response:
            document: Any = None
            if plan.body is not None:
                if not _is_json(request.headers.get("content-type")):
                    return await generic(request)
                try:
                    document = json.loads(await request.body())
                except ValueError:  # FastAPI's handler answers it (422, json_invalid)
                    return await generic(request)
            values: dict[str, Any] = {}
            # As FastAPI: dependencies first (a refusal is raised, whatever the body holds), then the fields.
            for name, call in plan.dependencies:
                values[name] = await call(request)
            path_params = request.path_params
            for name, alias, field in plan.path:
                value, errors = field.validate(path_params.get(alias), {}, loc=("path", alias))
                if errors:
                    return await generic(request)
                values[name] = value
            if plan.body is not None:
                body_name, body_field = plan.body
                value, errors = body_field.validate(document, {}, loc=("body",))
                if errors:
                    return await generic(request)
                values[body_name] = value
            if plan.request is not None:
                values[plan.request] = request
            answer = await endpoint(**values)
            if isinstance(answer, Response):
                return answer
            content = await serialize_response(
                field=route.response_field, response_content=answer, include=route.response_model_include,
                exclude=route.response_model_exclude, by_alias=route.response_model_by_alias,
                exclude_unset=route.response_model_exclude_unset,
                exclude_defaults=route.response_model_exclude_defaults,
                exclude_none=route.response_model_exclude_none, is_coroutine=True, dump_json=use_dump_json)
            status = route.status_code or 200  # the response classes' own default
            response = (Response(content=content, media_type="application/json", status_code=status)
                        if use_dump_json else response_class(content, status_code=status))
            if not is_body_allowed_for_status_code(response.status_code):
                response.body = b""
            return response

        return handle
