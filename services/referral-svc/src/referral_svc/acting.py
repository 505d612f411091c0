"""Who is acting, for the audit log and the records: a person's token or the service itself."""

from __future__ import annotations

from dataclasses import dataclass

from eoc_shared.auth import Principal, Role
from referral_svc.db.repositories import SystemActor, Who, role_name


@dataclass(frozen=True)
class Acting:
    who: Who
    request_id: str | None = None

    @property
    def actor(self) -> str:
        return self.who.actor

    @property
    def role(self) -> str:
        return role_name(self.who)

    @property
    def is_practitioner(self) -> bool:
        return isinstance(self.who, Principal) and self.who.role is Role.PRACTITIONER


def system(name: str = "referral-svc") -> Acting:
    return Acting(SystemActor(name))
