"""The public APIs, called with the signed-in person's own token: the dashboard sees what they may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class Unavailable(Exception):
    """An API did not answer with figures (refused, missing or failing); the page says 'not available'."""

    def __init__(self, path: str, status: int | None) -> None:
        super().__init__(f"{path}: {status or 'no answer'}")
        self.status = status


@dataclass
class Api:
    client: httpx.AsyncClient
    token: str

    async def get(self, path: str, **params: Any) -> Any:
        try:
            r = await self.client.get(path, params=params or None, headers={"Authorization": f"Bearer {self.token}"})
        except httpx.HTTPError as exc:
            raise Unavailable(path, None) from exc
        if r.status_code != 200:
            raise Unavailable(path, r.status_code)
        return r.json()

    async def raw(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params or None, headers={"Authorization": f"Bearer {self.token}"})
