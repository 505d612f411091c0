"""The architecture's boundaries, checked on every run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"


def test_no_service_imports_another_and_shared_imports_none() -> None:
    result = subprocess.run([str(LINT)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout
    assert "The dashboard reads the services only through their public APIs KEPT" in result.stdout


def test_the_contract_catches_a_cross_service_import(tmp_path: Path) -> None:
    """Prove the check can fail: a throw-away module in referral_svc importing finance_svc breaks it."""
    intruder = ROOT / "services/referral-svc/src/referral_svc/_intruder_for_test.py"
    intruder.write_text(textwrap.dedent("from finance_svc import settings  # noqa: F401\n"))
    try:
        result = subprocess.run([str(LINT), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        intruder.unlink()
    assert result.returncode != 0
    assert "Services never import each other BROKEN" in result.stdout


def test_the_contract_catches_a_framework_in_a_domain_package() -> None:
    """A throw-away domain module drawing a chart breaks the domain contract."""
    intruder = ROOT / "services/finance-svc/src/finance_svc/domain/_intruder_for_test.py"
    intruder.write_text("import matplotlib  # noqa: F401\n")
    try:
        result = subprocess.run([str(LINT), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        intruder.unlink()
    assert result.returncode != 0
    assert "Domain packages import no framework BROKEN" in result.stdout
