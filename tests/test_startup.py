"""What `eoc up` does not do at start-up any more: import what no service needs to be ready, run Alembic
on a database already at head, or wait for one service's migrations before the next one starts.

Timings are the bench's (bench/startup.py); these tests check the mechanisms, never a duration.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from eoc_platform import registry
from eoc_shared.db import make_engine
from eoc_shared.migrations import at_head, script_heads, upgrade_to_head

MIGRATIONS = {s.name: s.migrations_dir for s in registry.SERVICES}


def _imported_after(statement: str, modules: list[str]) -> dict[str, bool]:
    """Which of `modules` a fresh interpreter has imported after running `statement`."""
    probe = f"import json, sys\n{statement}\nprint(json.dumps([m in sys.modules for m in {modules!r}]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return dict(zip(modules, json.loads(out), strict=True))


def test_the_cli_imports_no_web_framework_before_it_starts_the_broker() -> None:
    imported = _imported_after("import eoc_platform.cli, eoc_platform.dlq", ["fastapi", "sqlalchemy", "httpx"])
    assert imported == {"fastapi": False, "sqlalchemy": False, "httpx": False}


def test_the_platform_imports_neither_the_dashboard_nor_alembic_until_used() -> None:
    imported = _imported_after("import eoc_platform.allinone", ["eoc_dashboard.app", "jinja2", "alembic"])
    assert imported == {"eoc_dashboard.app": False, "jinja2": False, "alembic": False}


@pytest.mark.parametrize("service", list(MIGRATIONS))
def test_the_heads_read_from_the_revision_files_are_alembics(service: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS[service]))
    assert script_heads(MIGRATIONS[service]) == frozenset(ScriptDirectory.from_config(cfg).get_heads())


def test_a_revision_file_that_does_not_state_its_revision_plainly_leaves_the_decision_to_alembic(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (versions / "0002_b.py").write_text('revision: str = "0002"\ndown_revision: str | None = "0001"\n')
    assert script_heads(tmp_path) == frozenset({"0002"})
    (versions / "0003_c.py").write_text('revision = make_revision()\ndown_revision = "0002"\n')
    assert script_heads(tmp_path) is None


@pytest.mark.parametrize("service", ["referral", "finance"])
async def test_a_database_is_at_head_only_once_migrated(service: str, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / service}.db")
    try:
        assert not await at_head(engine, MIGRATIONS[service])  # no alembic_version table yet
        await upgrade_to_head(engine, MIGRATIONS[service])
        assert await at_head(engine, MIGRATIONS[service])
        async with engine.begin() as conn:  # one revision behind: Alembic is asked again
            await conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        assert not await at_head(engine, MIGRATIONS[service])
    finally:
        await engine.dispose()
