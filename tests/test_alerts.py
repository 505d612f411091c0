"""The alert rules are valid, each is unit-tested by promtool, and each links to a runbook that exists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "deploy" / "prometheus"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: install the Debian package `prometheus` (.ci/run does)")
    return path


def _alerts() -> list[dict]:
    doc = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule]


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def test_promtool_checks_the_rules() -> None:
    done = subprocess.run([_promtool(), "check", "rules", "alerts.yml"], cwd=PROMETHEUS, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_pass() -> None:
    done = subprocess.run([_promtool(), "test", "rules", "alerts.test.yml"], cwd=PROMETHEUS, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_is_unit_tested_firing_and_links_to_its_runbook() -> None:
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())["tests"]
    firing = {case["alertname"] for t in tests for case in t["alert_rule_test"] if case.get("exp_alerts")}
    quiet = {case["alertname"] for t in tests for case in t["alert_rule_test"] if not case.get("exp_alerts")}
    anchors = {_slug(line.lstrip("#")) for line in (ROOT / "docs" / "operations.md").read_text().splitlines()
               if line.startswith("#")}
    names = [a["alert"] for a in _alerts()]
    expected = {"EocServiceDown", "EocHighErrorRatio", "EocHighLatencyP99", "EocConsumerLagGrowing", "EocOutboxStuck",
                "EocDeadLettersParked", "EocConsentAssessmentEscalationsNotRunning"}
    assert expected <= set(names)
    for alert in _alerts():
        name = alert["alert"]
        assert name in firing and name in quiet, f"{name} needs a firing and a quiet unit test"
        url = alert["annotations"]["runbook_url"]
        assert url.startswith("docs/operations.md#"), url
        assert url.split("#", 1)[1] in anchors, f"{name}: no runbook section {url} in docs/operations.md"


def test_the_dashboard_shows_only_metrics_the_services_export() -> None:
    import eoc_shared.metrics as metrics
    import eoc_shared.outage as outage

    exported = {m._name for mod in (metrics, outage) for m in vars(mod).values() if hasattr(m, "_name")}
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "eoc.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    used = {m for e in exprs for m in re.findall(r"\beoc_[a-z_]+", e)}
    assert used, "the dashboard has panels"
    known = exported | {f"{n}_{s}" for n in exported for s in ("total", "bucket", "count", "sum")}
    assert used <= known, used - known
    rules = {m for a in _alerts() for m in re.findall(r"\beoc_[a-z_]+", a["expr"])}
    assert rules <= known, rules - known


def test_prometheus_config_is_valid_and_scrapes_every_service(tmp_path: Path) -> None:
    config = (PROMETHEUS / "prometheus.yml").read_text().replace("/etc/prometheus/", f"{tmp_path}/")
    for name in ("alerts.yml", "metrics-token"):
        shutil.copy(PROMETHEUS / name, tmp_path / name)
    (tmp_path / "prometheus.yml").write_text(config)
    done = subprocess.run([_promtool(), "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    paths = {t["labels"]["__metrics_path__"] for job in yaml.safe_load(config)["scrape_configs"]
             for t in job["static_configs"]}
    assert paths == {"/referrals/metrics", "/eligibility/metrics", "/outcomes/metrics", "/finance/metrics"}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert {"prometheus", "grafana"} <= set(compose["services"])
    mounts = " ".join(compose["services"]["grafana"]["volumes"])
    assert "deploy/grafana/dashboards" in mounts and "deploy/grafana/provisioning" in mounts
