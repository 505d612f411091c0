"""Bearer-token (JWT) validation with PyJWT; roles map to scopes; one FastAPI dependency per scope.

Every service validates tokens itself (issuer, audience, expiry, signature) so nothing depends
on the gateway alone. Development tokens are Ed25519-signed with a key kept in the data dir.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Request
from fastapi.security import HTTPBearer

from eoc_shared.errors import Forbidden, Unauthorized
from eoc_shared.settings import ServiceSettings


class Role(StrEnum):
    SOCIAL_WORKER = "social_worker"
    PRACTITIONER = "practitioner"
    TEAM_MANAGER = "team_manager"
    PLACEMENTS_OFFICER = "placements_officer"
    FINANCE_OFFICER = "finance_officer"
    BOARD_MEMBER = "board_member"
    PARTNER_FEED = "partner_feed"
    OPS = "ops"


class Scope(StrEnum):
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    ELIGIBILITY_ASSESS = "eligibility:assess"
    RULES_WRITE = "rules:write"
    AUDIT_READ = "audit:read"
    FEEDS_WRITE = "feeds:write"
    FEEDS_REVIEW = "feeds:review"
    OUTCOMES_READ = "outcomes:read"
    OUTCOMES_WRITE = "outcomes:write"
    FINANCE_READ = "finance:read"
    FINANCE_WRITE = "finance:write"
    PROJECTIONS_VERIFY = "projections:verify"
    REPORTS_READ = "reports:read"
    OPS = "ops"


S = Scope
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.SOCIAL_WORKER: frozenset({S.CASES_READ, S.CASES_WRITE, S.ELIGIBILITY_ASSESS, S.OUTCOMES_READ, S.OUTCOMES_WRITE}),
    # Practitioners read only the cases of their own interventions; the owning service checks which.
    Role.PRACTITIONER: frozenset({S.CASES_READ, S.ELIGIBILITY_ASSESS, S.OUTCOMES_READ, S.OUTCOMES_WRITE}),
    Role.TEAM_MANAGER: frozenset(
        {S.CASES_READ, S.CASES_WRITE, S.ELIGIBILITY_ASSESS, S.AUDIT_READ, S.FEEDS_REVIEW, S.OUTCOMES_READ,
         S.OUTCOMES_WRITE, S.REPORTS_READ}
    ),
    Role.PLACEMENTS_OFFICER: frozenset({S.FINANCE_READ, S.PROJECTIONS_VERIFY}),
    Role.FINANCE_OFFICER: frozenset({S.FINANCE_READ, S.FINANCE_WRITE, S.REPORTS_READ}),
    # Aggregate reports only, never a child's record.
    Role.BOARD_MEMBER: frozenset({S.REPORTS_READ}),
    Role.PARTNER_FEED: frozenset({S.FEEDS_WRITE}),
    Role.OPS: frozenset({S.OPS, S.AUDIT_READ, S.RULES_WRITE, S.ELIGIBILITY_ASSESS, S.FINANCE_READ, S.FINANCE_WRITE, S.REPORTS_READ}),
}

ALGORITHMS = ["EdDSA", "RS256", "ES256"]
TOKEN_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class Principal:
    actor: str
    role: Role
    scopes: frozenset[Scope]
    source: str | None = None

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes


def dev_key_paths(data_dir: Path) -> tuple[Path, Path]:
    keys = data_dir / "keys"
    return keys / "dev-signing.pem", keys / "dev-signing.pub.pem"


def ensure_dev_keypair(data_dir: Path) -> tuple[Path, Path]:
    """Create the development signing key once; it never leaves the data dir."""
    private_path, public_path = dev_key_paths(data_dir)
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    private_path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private_path, public_path


def issue_dev_token(
    data_dir: Path,
    role: str,
    *,
    subject: str | None = None,
    source: str | None = None,
    issuer: str = "eoc-dev",
    audience: str = "eoc",
    lifetime: timedelta = TOKEN_LIFETIME,
) -> str:
    role = Role(role)
    if role is Role.PARTNER_FEED and not source:
        raise ValueError("a partner_feed token needs --source (police, health, education, youth_justice)")
    private_path, _ = ensure_dev_keypair(data_dir)
    key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    now = datetime.now(UTC)
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject or f"{role.value}-{uuid.uuid4().hex[:8]}",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "role": role.value,
    }
    if source:
        claims["source"] = source
    return jwt.encode(claims, key, algorithm="EdDSA")  # type: ignore[arg-type]  # an Ed25519 key, loaded above


class TokenVerifier:
    """Verifies bearer tokens; a verified token is remembered until its own expiry (bounded), since an
    Ed25519 or RSA signature check costs more than the rest of a small request."""

    CACHE_SIZE = 4096

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._verified: dict[str, tuple[float, Principal]] = {}
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        self._public_key: object | None = None

    def _key_for(self, token: str) -> object:
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key
        if self._public_key is None:
            path = self._settings.resolved_public_key_file
            try:
                self._public_key = serialization.load_pem_public_key(path.read_bytes())
            except FileNotFoundError as exc:
                raise Unauthorized("this service has no token verification key configured") from exc
        return self._public_key

    def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() < cached[0]:
                return cached[1]
            del self._verified[token]
        principal, expires_at = self._verify(token)
        if len(self._verified) >= self.CACHE_SIZE:
            # Oldest first (dicts keep insertion order); expired ones would have gone on their next use.
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (expires_at, principal)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),  # type: ignore[arg-type]  # a public key or a PyJWK
                algorithms=ALGORITHMS,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the bearer token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the bearer token is not valid: {exc}") from exc
        try:
            role = Role(str(claims.get("role")))
        except ValueError as exc:
            raise Unauthorized("the bearer token carries no known role") from exc
        principal = Principal(actor=str(claims["sub"]), role=role, scopes=ROLE_SCOPES[role], source=claims.get("source"))
        return principal, float(claims["exp"])


class BearerPrincipal(HTTPBearer):
    """The whole token check of a request as one dependency: bearer header, verified token (cached), scopes.

    It was three nested dependencies (HTTPBearer → current_principal → the scope check) that FastAPI solved
    one by one on every request. Still an `HTTPBearer` under that name, so the OpenAPI document is unchanged.
    `check(principal, request)` may refuse further (e.g. a partner posting to another partner's feed).
    """

    def __init__(self, scopes: tuple[Scope, ...] = (),
                 check: Callable[[Principal, Request], None] | None = None) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer")
        self.scopes = scopes
        self.check = check

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]  # answers the principal
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("a bearer token is required")
        verifier: TokenVerifier = request.app.state.runtime.verifier  # Starlette's app state is untyped
        principal = verifier.verify(token)
        request.state.principal = principal
        if self.scopes and not any(principal.can(s) for s in self.scopes):
            raise Forbidden(f"the role {principal.role.value} may not do this (needs {' or '.join(self.scopes)})")
        if self.check is not None:
            self.check(principal, request)
        return principal


#: any valid token, whatever its role (the endpoint decides)
current_principal = BearerPrincipal()


def requires(*scopes: Scope, check: Callable[[Principal, Request], None] | None = None) -> BearerPrincipal:
    """A dependency that lets the request through when the token's role has any of `scopes` (and `check`
    does not refuse it); answers the token's principal."""
    return BearerPrincipal(scopes, check)
