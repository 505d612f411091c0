"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against `eoc up`: each role
sees exactly its views, the figures equal the APIs', a group of three shows "<5" and no rate on the page
and in its CSV, axe-core finds no serious or critical violation, no console error; screenshots are kept
under var/test-artefacts/dashboard (untracked)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from eoc_shared.broker import free_port
from eoc_shared.testing.fixtures import produce_raw

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
EOC = Path(sys.executable).parent / "eoc"
CHROMIUM = os.environ.get("EOC_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = ROOT / "var" / "test-artefacts" / "dashboard"
FY = 2026
POISON_TOPIC = "referral.created"
REFERRED = "2026-11-02"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EXPECTED = {
    "board_member": ["board", "equity"],
    "finance_officer": ["board"],
    "team_manager": ["equity", "operations"],
    "ops": ["equity", "operations"],
}
ALL_VIEWS = ["board", "equity", "operations"]


class Platform:
    def __init__(self, base: str, data_dir: Path, bootstrap: str) -> None:
        self.base = base
        self.data_dir = data_dir
        self.bootstrap = bootstrap

    def token(self, role: str) -> str:
        return subprocess.run([str(EOC), "token", "--role", role, "--data-dir", str(self.data_dir)],
                              capture_output=True, text=True, check=True).stdout.strip()

    def client(self, role: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token(role)}"}, timeout=30)


def _eventually(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "the platform never showed it"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make install runs npm ci in dashboard/)")
    port = free_port()
    data_dir = tmp_path_factory.mktemp("dashboard") / "var"
    said = data_dir.parent / "eoc-up.out"  # its first line names the broker, to park a poison message on it
    with said.open("wb") as out:
        process = subprocess.Popen([str(EOC), "up", "--port", str(port), "--data-dir", str(data_dir)],
                                   stdout=out, stderr=subprocess.DEVNULL, env={**os.environ, "EOC_LOG_LEVEL": "WARNING"})
    base = f"http://127.0.0.1:{port}"
    try:
        def ready() -> bool:
            assert process.poll() is None, "eoc up exited early"
            try:
                return all(httpx.get(f"{base}/{p}/readyz", timeout=1).status_code == 200
                           for p in ("referrals", "eligibility", "outcomes", "finance"))
            except httpx.HTTPError:
                return False

        _eventually(ready, timeout=120)
        broker = re.search(r"broker on (\S+);", said.read_text())
        assert broker, said.read_text()
        yield Platform(base, data_dir, broker.group(1))
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _family(client: httpx.Client, ethnicity: str, n: int, tag: str) -> tuple[str, list[str]]:
    family = client.post("/referrals/families", json={"la_reference": f"FAM-{tag}", "postcode_district": "LS6",
                                                      "primary_language": "en", "interpreter_needed": False})
    assert family.status_code == 201, family.text
    children = []
    for i in range(n):
        r = client.post(f"/referrals/families/{family.json()['id']}/children", json={
            "la_child_id": f"CH-{tag}-{i}", "given_name": "Test", "family_name": "Child", "date_of_birth": "2012-03-01",
            "sex": "F" if i % 2 else "M", "ethnicity": ethnicity, "legal_status": "CPP"})
        assert r.status_code == 201, r.text
        children.append(r.json()["id"])
    return family.json()["id"], children


@pytest.fixture(scope="module")
def seeded(platform: Platform) -> dict[str, Any]:
    """Ten White British children referred (eligible for MST, started) and a family of three Chinese children."""
    with platform.client("social_worker") as sw:
        referrals = []
        for ethnicity, n, tag in (("WBRI", 10, "W"), ("CHNE", 3, "C")):
            family_id, children = _family(sw, ethnicity, n, tag)
            r = sw.post("/referrals", json={"family_id": family_id, "child_ids": children, "referred_on": REFERRED,
                                            "source": "legal_planning_meeting", "risk_factors": ["behaviour"],
                                            "threshold_for_removal_met": True})
            assert r.status_code == 201, r.text
            referrals.append(r.json()["id"])
        for rid in referrals:
            _eventually(lambda rid=rid: sw.get(f"/referrals/{rid}").json()["eligibility"])
        started = sw.post(f"/referrals/{referrals[0]}/interventions", json={"programme": "MST", "started_on": "2026-11-16"})
        assert started.status_code == 201, started.text
    with platform.client("board_member") as board:
        _eventually(lambda: board.get(f"/finance/summary/{FY}").json()["children_served"] == 10)
        equity = board.get("/referrals/reports/equity", params={"financial_year": FY, "by": "ethnic_group"}).json()
        finance = board.get(f"/finance/summary/{FY}").json()
    with platform.client("team_manager") as tm:
        pulse = tm.get("/referrals/reports/operations").json()
    # One message no consumer can read, parked by each consumer of its topic, for the operations view.
    with ThreadPoolExecutor(1) as pool:  # its own event loop: pytest-asyncio may have one running here
        pool.submit(asyncio.run, produce_raw(platform.bootstrap, POISON_TOPIC, b"\x00 not an event",
                                             key=b"dashboard-poison")).result(timeout=60)
    with platform.client("ops") as ops:
        def parked() -> dict[tuple[str, str], int]:
            found: dict[tuple[str, str], int] = {}
            for prefix in ("referrals", "eligibility", "outcomes", "finance"):
                for row in ops.get(f"/{prefix}/dlq").json():
                    found[row["topic"], row["consumer"]] = found.get((row["topic"], row["consumer"]), 0) + 1
            return found if any(topic == POISON_TOPIC for topic, _c in found) else {}

        dead_letters = _eventually(parked)
    return {"equity": equity, "finance": finance, "pulse": pulse, "dead_letters": dead_letters}


@pytest.fixture(scope="module")
def browser(platform: Platform) -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


class Visit:
    """A signed-in browser context that records console errors and every response body it received."""

    def __init__(self, browser: Any, platform: Platform, role: str) -> None:
        self.context = browser.new_context(base_url=platform.base, accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.bodies: list[tuple[str, str]] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", self._keep)
        self.sign_in(role)

    def _keep(self, response: Any) -> None:
        kind = response.headers.get("content-type", "")
        if kind.startswith(("text/", "application/json", "image/svg")):
            try:
                self.bodies.append((response.url, response.text()))
            except Exception:  # noqa: BLE001 - a redirect has no body
                pass

    def sign_in(self, role: str) -> None:
        """By keyboard only: tab to the role, choose it, submit."""
        self.page.goto("/")
        assert self.page.url.endswith("/sign-in")
        radio = self.page.locator(f"input[name=role][value={role}]")
        radio.focus()
        self.page.keyboard.press("Space")
        assert radio.is_checked()
        with self.page.expect_navigation(url=re.compile(r"/(board|equity|operations)$")):
            self.page.keyboard.press("Enter")

    def nav(self) -> list[str]:
        return [h.split("/")[-1] for h in self.page.locator("nav[aria-label=Views] a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))")]

    def axe(self) -> list[dict[str, Any]]:
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate("""async () => await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})""")
        return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]

    def table(self, table_id: str) -> list[list[str]]:
        return self.page.locator(f"#table-{table_id} tbody tr").evaluate_all(
            "rows => rows.map(r => Array.from(r.children).map(c => c.textContent.trim()))")

    def csv(self, table_id: str) -> list[list[str]]:
        with self.page.expect_download() as download:
            self.page.locator(f"#panel-{table_id} a[download]").click()
        path = download.value.path()
        return list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"))))

    def close(self) -> None:
        self.context.close()


def _count(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:,}"


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_sees_exactly_its_views_accessibly(browser: Any, platform: Platform, seeded: dict[str, Any],
                                                     role: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    visit = Visit(browser, platform, role)
    try:
        assert visit.nav() == EXPECTED[role]
        for view in EXPECTED[role]:
            response = visit.page.goto(f"/{view}?fy={FY}" if view != "operations" else "/operations")
            assert response is not None and response.status == 200
            assert visit.page.locator("svg.eoc-chart").count() >= 1, f"{view}: no chart"
            for svg in visit.page.locator("svg.eoc-chart").all():  # every chart has a text alternative
                assert svg.get_attribute("role") == "img" and svg.locator("title").text_content()
            violations = visit.axe()
            assert not violations, f"{role} on {view}: " + "; ".join(f"{v['id']}: {v['help']}" for v in violations)
            visit.page.screenshot(path=str(ARTEFACTS / f"{role}-{view}.png"), full_page=True)
            print(f"{role} /{view}: axe serious/critical 0, charts {visit.page.locator('svg.eoc-chart').count()}, "
                  f"tables {visit.page.locator('table').count()}")
        assert not visit.errors, visit.errors  # no console error on any of the role's views
        for view in set(ALL_VIEWS) - set(EXPECTED[role]):
            response = visit.page.goto(f"/{view}")
            assert response is not None and response.status == 403
            assert visit.page.locator("table").count() == 0
        if role == "board_member":  # nothing child-level anywhere the browser received
            leaks = [url for url, body in visit.bodies if UUID.search(body) or "CH-W-" in body or "CH-C-" in body]
            assert not leaks, leaks
    finally:
        visit.close()


def test_figures_equal_the_apis_and_a_group_of_three_is_suppressed(browser: Any, platform: Platform,
                                                                   seeded: dict[str, Any]) -> None:
    visit = Visit(browser, platform, "board_member")
    try:
        visit.page.goto(f"/equity?fy={FY}&by=ethnic_group")
        rows = {r[0]: r for r in visit.table("groups")}
        for group in seeded["equity"]["groups"]:
            shown = rows[group["group"]]
            assert shown[1] == _count(group["referred"]) and shown[2] == _count(group["eligible"])
        chinese = rows["Chinese"]
        assert chinese[1] == "<5" and chinese[2] == "<5"
        assert all("%" not in cell for cell in chinese[1:]), chinese  # no rate for a group of three
        white = rows["White"]
        assert white[1] == "10" and white[3] == "100.0%"  # 10 of 10 eligible: a rate is shown
        funnel = {r[0]: r[1] for r in visit.table("funnel")}
        assert funnel["Referred"] == _count(seeded["equity"]["total"]["referred"]) == "13"
        exported = {r[0]: r for r in visit.csv("groups")}
        assert exported["Chinese"][1] == "<5" and all("%" not in c and not c.isdigit() or c == "0"
                                                      for c in exported["Chinese"][1:])
        assert exported["Chinese"][1:] == chinese[1:]
        assert "3" not in exported["Chinese"][1:]

        visit.page.goto(f"/board?fy={FY}")
        headline = {r[0]: r[1] for r in visit.table("headline")}
        assert headline["Children served"] == _count(seeded["finance"]["children_served"]) == "10"
        assert headline["Families served"] == _count(seeded["finance"]["families_served"])
        trend = {r[0]: r for r in visit.table("trend")}
        assert trend["2019/20"][1] == "no data"  # a year without data, not 0 or £0
        assert trend["2026/27"][1] == "10"
    finally:
        visit.close()
    tm = Visit(browser, platform, "team_manager")
    try:
        tm.page.goto("/operations")
        timers = {r[0]: r[1] for r in tm.table("timers")}
        assert timers["Consent overdue (over 14 days unsigned)"] == _count(seeded["pulse"]["consent_overdue"])
        assert seeded["pulse"]["consent_overdue"] >= 2
        # Dead letters are for ops: the team manager is told so, and no table of them is shown.
        assert "Dead letters" in tm.page.locator("[data-note]").inner_text()
        assert tm.page.locator("#table-dead-letters").count() == 0
        assert tm.page.locator("#panel-dead-letters").count() == 0
    finally:
        tm.close()
    ops = Visit(browser, platform, "ops")
    try:
        ops.page.goto("/operations")
        shown = {(r[0], r[1]): r[2] for r in ops.table("dead-letters")}
        assert shown == {key: _count(n) for key, n in seeded["dead_letters"].items()}
        poisoned = {key: n for key, n in shown.items() if key[0] == POISON_TOPIC}
        assert poisoned and all(n == "1" for n in poisoned.values()), shown  # one parked message per consumer
        assert f"{POISON_TOPIC}: {len(poisoned)}" in ops.page.locator("#chart-dead-letters desc").text_content()
        exported = ops.csv("dead-letters")
        assert exported[0] == ["Topic", "Consumer", "Parked", "Oldest parked"]
        assert {(r[0], r[1]): r[2] for r in exported[1:]} == shown
        print(f"ops /operations: dead letters parked {shown}")
    finally:
        ops.close()
