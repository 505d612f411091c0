"""Who is acting on a record — a person's token or a service itself — for the records and the access logs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from eoc_shared.auth import Principal, Role, Scope, requires

SYSTEM_ROLE = "system"
"""The role written for a service acting on its own (timers, schedulers, another service's event)."""


@dataclass(frozen=True)
class Acting:
    """The actor id and role stored with every change and access-log line, the request it came in with, and
    what the services scope by: a practitioner sees only their own interventions, a partner only its source."""

    actor: str
    role: str
    request_id: str | None = None
    source: str | None = None

    @property
    def is_practitioner(self) -> bool:
        return self.role == Role.PRACTITIONER.value

    @property
    def is_system(self) -> bool:
        return self.role == SYSTEM_ROLE

    @classmethod
    def of(cls, principal: Principal, request_id: str | None = None) -> Acting:
        """`role` keeps the token's Role (a str enum): it compares equal to, and is stored as, its name."""
        return cls(principal.actor, principal.role, request_id, principal.source)

    @classmethod
    def system(cls, service: str) -> Acting:
        return cls(service, SYSTEM_ROLE)


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def acting_of(principal: Principal, request: Request) -> Acting:
    """The Acting of an endpoint that already holds the principal its scope check returned."""
    return Acting.of(principal, request_id_of(request))


def acting_as(*scopes: Scope) -> Callable[..., Awaitable[Acting]]:
    """A FastAPI dependency: the token must carry one of `scopes`; the endpoint receives who is acting.

    `Annotated[Acting, Depends(acting_as(Scope.CASES_WRITE))]`.
    """
    check = requires(*scopes)

    async def dependency(request: Request, principal: Annotated[Principal, Depends(check)]) -> Acting:
        return acting_of(principal, request)

    return dependency
