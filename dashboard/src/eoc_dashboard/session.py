"""The signed-in person's session: their bearer token and role in an HMAC-signed, HttpOnly cookie.

The token stays on the server side of every request (the page never sees it in script); the cookie is
signed so that a role cannot be edited in the browser, and the APIs verify the token itself anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

COOKIE = "eoc_session"


@dataclass(frozen=True)
class Session:
    token: str
    role: str
    subject: str
    expires_at: int

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def seal(secret: bytes, session: Session) -> str:
    body = _b64(json.dumps(vars(session), separators=(",", ":")).encode())
    return f"{body}.{_mac(secret, body)}"


def unseal(secret: bytes, value: str | None) -> Session | None:
    """The session in a cookie, or None when it is missing, altered or expired."""
    if not value or "." not in value:
        return None
    body, mac = value.rsplit(".", 1)
    if not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    try:
        data = json.loads(_unb64(body))
        session = Session(token=str(data["token"]), role=str(data["role"]), subject=str(data["subject"]),
                          expires_at=int(data["expires_at"]))
    except (ValueError, KeyError, TypeError):
        return None
    return None if session.expired else session
