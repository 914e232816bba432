"""The real dashboard in a real browser: Debian's Chromium driven by Playwright against the
stack (simulated chairs -> recorder -> dashboard), each as its own process.

Screenshots land in test-output/. Outside CI a missing Chromium skips this test; in CI
(CI=true) it fails, because `make test` installs Chromium.
"""

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, chairside_command, child_env, query, wait_for
from vitals.users import add_user

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = ROOT / "test-output"
STARTS_WITH_DIGITS = re.compile(r"^\d+")
NURSE, PASSWORD = "Nurse Ada", "lovelace"
# Closed network here: keep Chromium from phoning home (see the machine notes in README).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI: `make test` should have installed it")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def stack(tmp_path: Path):
    config, db, port = tmp_path / "chairs.toml", tmp_path / "c.db", free_port()
    users = tmp_path / "users.toml"
    add_user(users, NURSE, PASSWORD)
    children = []

    def start(*args: str) -> None:
        children.append(
            subprocess.Popen(
                chairside_command(*args),
                cwd=ROOT,
                env=child_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    start(
        "simulate",
        "--chairs",
        "3",
        "--scenario",
        "hypertensive,typical,desaturation",
        "--speed",
        "300",
        "--config",
        str(config),
        "--run-dir",
        str(tmp_path / "run"),
        "--db",
        str(db),
    )
    wait_for(config.exists, what="chair config")
    start("record", "--config", str(config), "--db", str(db))
    start("dashboard", "--db", str(db), "--port", str(port), "--users", str(users))
    yield f"http://127.0.0.1:{port}", db
    for child in children:
        child.terminate()
    for child in children:
        child.wait(timeout=20)


def test_nurse_signs_in_sees_every_chair_and_acknowledges_the_critical(
    chromium: Path, stack
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, db = stack
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        wait_for(lambda: _loads(page, url), timeout=60, what="the dashboard to answer")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        for name in ("Chair 1 (hypertensive)", "Chair 2 (typical)", "Chair 3 (desaturation)"):
            expect(page.get_by_text(name)).to_be_visible(timeout=30_000)
        expect(page.locator(".cs-tile .cs-n").first).to_have_text(
            STARTS_WITH_DIGITS, timeout=30_000
        )
        critical = page.locator('.cs-tile.cs-critical.cs-flash[data-chair="chair-1"]')
        expect(critical).to_be_visible(timeout=60_000)
        expect(critical).to_contain_text("CRITICAL — NOT ACKNOWLEDGED")
        page.screenshot(path=str(OUTPUT / "overview.png"), full_page=True)
        page.get_by_role("button", name="Acknowledge").first.click()
        page.get_by_label("Comment (optional)").fill("seen in browser test")
        page.get_by_role("dialog").get_by_role("button", name="Acknowledge").click()
        wait_for(
            lambda: query(db, "SELECT by FROM acknowledgments"), timeout=20, what="the audit row"
        )
        assert query(db, "SELECT DISTINCT by, comment FROM acknowledgments") == [
            (NURSE, "seen in browser test")
        ]
        page.get_by_role("button", name="Details").first.click()
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(OUTPUT / "chair-detail.png"), full_page=True)
        browser.close()


def _loads(page, url: str) -> bool:
    from playwright.sync_api import Error

    try:
        page.goto(url, timeout=5_000)
    except Error:
        return False
    return True


def test_the_patient_tablet_shows_one_form_and_nothing_else(chromium: Path, stack) -> None:
    """The nurse hands the tablet over from the chair page; the patient sees the PHQ-9 only,
    no page list, and typing another page's address leads to the sign-in, not to data."""
    from playwright.sync_api import expect, sync_playwright

    url, db = stack
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        wait_for(lambda: _loads(page, url), timeout=60, what="the dashboard to answer")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Details").first.click()
        hand = page.get_by_role("button", name="Hand the tablet to the patient: How you have been")
        hand.click(timeout=30_000)
        expect(page.get_by_role("heading", name="How you have been feeling (PHQ-9)")).to_be_visible(
            timeout=30_000
        )
        for elsewhere in ("Overview", "Review", "Sign out", "Chair 1"):
            expect(page.get_by_text(elsewhere, exact=True)).to_have_count(0)
        groups = page.get_by_role("radiogroup")
        expect(groups).to_have_count(9)
        for n in range(9):
            groups.nth(n).get_by_text("Several days" if n < 8 else "Not at all").click()
        page.screenshot(path=str(OUTPUT / "patient-form.png"), full_page=True)
        page.get_by_role("button", name="Save my answers").click()
        expect(page.get_by_text("Thank you")).to_be_visible(timeout=30_000)
        wait_for(
            lambda: query(db, "SELECT value FROM events WHERE kind = 'phq9'"),
            timeout=20,
            what="the PHQ-9 event",
        )
        assert query(db, "SELECT value, by FROM events WHERE kind = 'phq9'")[-1] == (
            8.0,
            f"patient (tablet; opened by {NURSE})",
        )
        page.goto(f"{url}/review")
        expect(page.get_by_label("Password", exact=True)).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Export", exact=True)).to_have_count(0)
        browser.close()
