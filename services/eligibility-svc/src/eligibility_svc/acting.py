"""Who is acting, for the access log and case scoping: a person's token or the service itself."""

from __future__ import annotations

from dataclasses import dataclass

from eoc_shared.auth import Principal, Role


@dataclass(frozen=True)
class Acting:
    actor: str
    role: str
    request_id: str | None = None

    @property
    def is_practitioner(self) -> bool:
        return self.role == Role.PRACTITIONER.value

    @classmethod
    def of(cls, principal: Principal, request_id: str | None) -> Acting:
        return cls(principal.actor, principal.role.value, request_id)
