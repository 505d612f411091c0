"""OpenID Connect authorization code flow with PKCE (RFC 7636, S256) against the authority's provider.

The dashboard is a confidential or public client; either way it sends a code challenge with the
authorization request and the verifier with the token request, so an intercepted code is useless.
The access token it receives is the one the APIs verify (issuer, audience, JWKS), and it carries the role.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import jwt


def code_verifier() -> str:
    """43–128 characters from the unreserved set (RFC 7636 §4.1): 32 random bytes, base64url."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str


@dataclass(frozen=True)
class Pending:
    """What the dashboard keeps between sending the person to the provider and their return."""

    state: str
    nonce: str
    verifier: str


def start(provider: Provider, *, client_id: str, redirect_uri: str, scope: str) -> tuple[str, Pending]:
    """The authorization URL to send the person to, and the secrets to check their return against."""
    pending = Pending(state=secrets.token_urlsafe(24), nonce=secrets.token_urlsafe(24), verifier=code_verifier())
    query = urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
        "state": pending.state, "nonce": pending.nonce,
        "code_challenge": code_challenge(pending.verifier), "code_challenge_method": "S256",
    })
    separator = "&" if "?" in provider.authorization_endpoint else "?"
    return f"{provider.authorization_endpoint}{separator}{query}", pending


async def discover(client: httpx.AsyncClient, issuer: str) -> Provider:
    r = await client.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
    r.raise_for_status()
    doc = r.json()
    if doc.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise ValueError("the provider's discovery document names another issuer")
    return Provider(doc["issuer"], doc["authorization_endpoint"], doc["token_endpoint"])


async def exchange(client: httpx.AsyncClient, provider: Provider, *, code: str, pending: Pending, client_id: str,
                   redirect_uri: str, client_secret: str | None = None) -> str:
    """Trade the code and the verifier for the access token (the bearer token the APIs accept)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": client_id, "code_verifier": pending.verifier}
    if client_secret:
        r = await client.post(provider.token_endpoint, data=form, auth=(client_id, client_secret))
    else:
        r = await client.post(provider.token_endpoint, data=form)
    r.raise_for_status()
    token = r.json().get("access_token")
    if not isinstance(token, str) or not token:
        raise ValueError("the provider answered without an access token")
    return token


def unverified_claims(token: str) -> dict[str, object]:
    """The token's role and subject for display and routing only; every API verifies the signature itself."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return claims if isinstance(claims, dict) else {}
