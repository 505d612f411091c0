"""The verified-token cache: a token is verified once, remembered until its own expiry, and the cache is bounded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

import pytest

from eoc_shared.auth import TokenVerifier, ensure_dev_keypair, issue_dev_token
from eoc_shared.errors import Unauthorized
from eoc_shared.settings import ServiceSettings


class _Settings(ServiceSettings):
    service_name: ClassVar[str] = "cachetest"


def _rotate_key(data_dir: Path) -> None:
    """A new signing key: tokens signed with the old one no longer verify."""
    for p in ensure_dev_keypair(data_dir):
        p.unlink()
    ensure_dev_keypair(data_dir)


def test_a_cached_token_is_used_only_until_it_expires(tmp_path: Path) -> None:
    verifier = TokenVerifier(_Settings(data_dir=tmp_path))
    token = issue_dev_token(tmp_path, "social_worker", subject="sw-1")
    assert verifier.verify(token).actor == "sw-1"
    _rotate_key(tmp_path)
    verifier._public_key = None  # the service would load the new key at its next start
    assert verifier.verify(token).actor == "sw-1", "served from the cache: not verified again"

    # Past the token's expiry the cache no longer answers: the token is verified afresh (and now refused).
    expires_at, principal = verifier._verified[token]
    verifier._verified[token] = (time.time() - 1, principal)
    with pytest.raises(Unauthorized):
        verifier.verify(token)
    assert token not in verifier._verified


def test_refused_tokens_are_never_cached_and_the_cache_is_bounded(tmp_path: Path) -> None:
    verifier = TokenVerifier(_Settings(data_dir=tmp_path))
    verifier.CACHE_SIZE = 3
    token = issue_dev_token(tmp_path, "ops")
    for tampered in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "not-a-token"):
        with pytest.raises(Unauthorized):
            verifier.verify(tampered)
    assert verifier._verified == {}
    tokens = [issue_dev_token(tmp_path, "ops", subject=f"ops-{i}") for i in range(5)]
    for t in tokens:
        verifier.verify(t)
    assert list(verifier._verified) == tokens[2:], "the oldest entries give way"
