"""The four services, listed once: what the runner, `eoc migrate`, the CLI and the tests know of each.

Each entry names a package; its settings, app factory and models are imported only when asked for, so
`eoc token` or `eoc migrate referral` does not import the other services.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # the CLI imports this module first: FastAPI and SQLAlchemy come with the service, not before
    from fastapi import FastAPI
    from sqlalchemy import MetaData

    from eoc_shared.settings import ServiceSettings


@dataclass(frozen=True)
class Service:
    """One service: `name` (its database, image, settings EOC_<NAME>_*), the path `prefix` it answers under
    (`referrals` for /referrals/…), and its package (`<package>.settings`, `.app`, `.db.models`)."""

    name: str
    prefix: str
    package: str

    @property
    def settings(self) -> type[ServiceSettings]:
        module = importlib.import_module(f"{self.package}.settings")
        return cast("type[ServiceSettings]", getattr(module, f"{self.name.capitalize()}Settings"))

    @property
    def create_app(self) -> Callable[..., FastAPI]:
        return cast("Callable[..., FastAPI]", importlib.import_module(f"{self.package}.app").create_app)

    @property
    def app_path(self) -> str:
        """The factory as uvicorn names it."""
        return f"{self.package}.app:create_app"

    @property
    def migrations_dir(self) -> Path:
        """services/<name>-svc/migrations, beside the package's src/ folder."""
        spec = importlib.util.find_spec(self.package)
        assert spec is not None and spec.submodule_search_locations, self.package
        return Path(next(iter(spec.submodule_search_locations))).resolve().parents[1] / "migrations"

    @property
    def metadata(self) -> MetaData:
        """The tables its models declare, which its migrations must build."""
        return cast("MetaData", importlib.import_module(f"{self.package}.db.models").Base.metadata)


SERVICES: tuple[Service, ...] = (
    Service("referral", "referrals", "referral_svc"),
    Service("eligibility", "eligibility", "eligibility_svc"),
    Service("outcomes", "outcomes", "outcomes_svc"),
    Service("finance", "finance", "finance_svc"),
)
NAMES = tuple(s.name for s in SERVICES)
PREFIXES = tuple(s.prefix for s in SERVICES)
BY_NAME = {s.name: s for s in SERVICES}
BY_PREFIX = {s.prefix: s for s in SERVICES}
