"""The real dashboard in a real browser: Debian's Chromium driven by Playwright against the
stack (simulated chairs -> recorder -> dashboard), each as its own process, started once for
every test here.

Every page is visited at 1440×900 (a station's screen) and 810×1080 (a portrait tablet);
screenshots land in test-output/ (the viewport as a nurse first sees it, and the whole page).
Outside CI a missing Chromium skips these tests; in CI (CI=true) it fails, because
`make test` installs Chromium.
"""

import os
import re
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, chairside_command, child_env, query, wait_for
from vitals.users import add_user

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = ROOT / "test-output"
STARTS_WITH_DIGITS = re.compile(r"^\d+")
NURSE, PASSWORD = "Nurse Ada", "lovelace"
SIZES = {"station": (1440, 900), "tablet": (810, 1080)}
PAGES = {"overview": "/", "chair": "/chair", "sessions": "/sessions", "review": "/review"}
PAGES["course"] = "/course"
# Words that must never reach a nurse: Python's and pandas' nothing, UTC offsets, stack traces,
# and the rule ids the alert engine keys its rules by.
NEVER_SHOWN = re.compile(
    r"\bNone\b|\bnan\b|\bNaN\b|\+00:00|Traceback|\bUTC\b|"
    r"\b(sbp|dbp|hr|spo2)-(high|low|rise)\b|\binvalid-(sbp|dbp|hr|spo2|map)\b|"
    r"\bno-data\b|\bdevice-disconnected\b|\bnibp-overdue\b|--\w+"
)
# Closed network here: keep Chromium from phoning home (see the machine notes in README).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",  # as a station PC's kiosk browser runs
]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI: `make test` should have installed it")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """One simulated clinic, one recorder and one dashboard for every test in this module."""
    tmp = tmp_path_factory.mktemp("stack")
    config, db, port = tmp / "chairs.toml", tmp / "c.db", free_port()
    users = tmp / "users.toml"
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
        str(tmp / "run"),
        "--db",
        str(db),
    )
    wait_for(config.exists, what="chair config")
    start("record", "--config", str(config), "--db", str(db))
    start(
        "dashboard",
        "--db",
        str(db),
        "--port",
        str(port),
        "--users",
        str(users),
        "--timezone",
        "America/Chicago",
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(url), timeout=60, what="the dashboard to answer")
    yield url, db
    for child in children:
        child.terminate()
    for child in children:
        child.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(chromium: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def sign_in(page, url: str, path: str = "/") -> None:
    page.goto(f"{url}{path}")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http(url: str, data: dict | None = None, headers: dict | None = None):
    """One request, redirects not followed: (status, headers)."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, answer.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def test_a_page_load_without_a_sign_in_goes_to_the_form_and_keeps_the_page(stack) -> None:
    url, _ = stack
    status, headers = http(f"{url}/review?x=1", headers={"Accept": "text/html"})
    assert status == 303 and headers["location"] == "/station/sign-in?next=/review%3Fx%3D1"
    status, headers = http(
        f"{url}/station/sign-in", {"nurse": NURSE, "password": "wrong", "next": "/review"}
    )
    assert status == 401 and "set-cookie" not in headers
    status, headers = http(
        f"{url}/station/sign-in",
        {"nurse": NURSE, "password": PASSWORD, "next": "//evil.example/"},
    )
    assert status == 303 and headers["location"] == "/"  # never sent to another site
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=" in cookie
    from_elsewhere = {"Origin": "http://evil.example", "Accept": "text/html"}
    status, _ = http(f"{url}/station/sign-out", {}, headers=from_elsewhere)
    assert status == 403


def test_nurse_signs_in_sees_every_chair_and_acknowledges_what_she_sees(browser, stack) -> None:
    from playwright.sync_api import expect

    url, db = stack
    OUTPUT.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    asked = []  # every address the page asks for: a clinic's station calls nobody outside
    page.on("request", lambda request: asked.append(request.url))
    sign_in(page, url, "/review")  # a bookmark: it lands on its page after signing in
    # The first page a new dashboard serves imports everything: give it time on a busy machine.
    expect(page.get_by_role("heading", name="Review", exact=True)).to_be_visible(timeout=90_000)
    page.goto(url)
    for name in ("Chair 1 (hypertensive)", "Chair 2 (typical)", "Chair 3 (desaturation)"):
        expect(page.get_by_text(name)).to_be_visible(timeout=30_000)
    expect(page.locator(".cs-tile .cs-n").first).to_have_text(STARTS_WITH_DIGITS, timeout=30_000)
    critical = page.locator('.cs-tile.cs-critical.cs-flash[data-chair="chair-1"]')
    expect(critical).to_be_visible(timeout=60_000)
    expect(critical).to_contain_text("CRITICAL — NOT ACKNOWLEDGED")
    alarm = page.locator("audio")
    expect(alarm).to_have_count(1, timeout=10_000)
    assert not alarm.is_visible()  # the alarm sounds without a player on the page
    playing = "() => [...document.querySelectorAll('audio')].some(a => !a.paused)"
    page.wait_for_function(playing, timeout=30_000)  # ...and it is playing
    # The browser pauses it (as a redraw of the player would): it starts again by itself.
    page.evaluate("() => document.querySelectorAll('audio').forEach(a => a.pause())")
    page.wait_for_function(playing, timeout=10_000)
    page.reload()  # F5: still signed in, every chair still there, the alarm still on
    expect(critical).to_be_visible(timeout=30_000)
    page.wait_for_function(playing, timeout=30_000)
    _ack_button(page, "chair-1").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("CRITICAL", timeout=10_000)
    dialog.get_by_label("Comment (optional)").fill("seen in browser test")
    page.screenshot(path=str(OUTPUT / "acknowledge-dialog-1440x900.png"))
    dialog.get_by_role("button", name="Acknowledge").click()
    wait_for(lambda: query(db, "SELECT by FROM acknowledgments"), timeout=20, what="the audit row")
    rows = query(db, "SELECT DISTINCT by, comment, level_seen FROM acknowledgments")
    assert rows[0][:2] == (NURSE, "seen in browser test") and rows[0][2] in ("critical", "warning")
    outside = {a for a in asked if not a.startswith((url, "data:", "blob:"))}
    assert not outside, outside
    context.close()


def _ack_button(page, chair: str):
    """The Acknowledge button under a chair's tile (the tile and its buttons share a column)."""
    column = page.locator('[data-testid="stColumn"]').filter(
        has=page.locator(f'.cs-tile[data-chair="{chair}"]')
    )
    return column.last.get_by_role("button", name="Acknowledge")


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_reads_as_a_nurse_would_have_it(browser, stack, size: str) -> None:
    """Each page at the size: no engineer's words, no UTC, no table wider than its place."""
    from playwright.sync_api import expect

    url, _ = stack
    OUTPUT.mkdir(exist_ok=True)
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(url)
    page.screenshot(path=str(OUTPUT / f"sign-in-{width}x{height}.png"))
    sign_in(page, url)
    expect(page.locator(".cs-tile").first).to_be_visible(timeout=30_000)
    problems = []
    for name, path in PAGES.items():
        page.goto(f"{url}{path}")
        _settle(page, name)
        page.screenshot(path=str(OUTPUT / f"{name}-{width}x{height}.png"))
        _full_screenshot(page, OUTPUT / f"{name}-{width}x{height}-full.png", width, height)
        text = page.locator('[data-testid="stMain"]').inner_text()
        problems += [f"{name}: shows {m.group(0)!r}" for m in NEVER_SHOWN.finditer(text)]
        problems += [f"{name}: {p}" for p in _layout_problems(page, width, size == "station")]
    context.close()
    assert not problems, problems


def _settle(page, name: str) -> None:
    from playwright.sync_api import expect

    main = page.locator('[data-testid="stMain"]')
    expect(main).to_be_visible(timeout=30_000)
    if name == "overview":
        expect(page.locator(".cs-tile").first).to_be_visible(timeout=30_000)
    elif name in ("chair", "review", "course"):
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
    else:
        sessions = page.get_by_role("heading", name="Sessions", exact=True)  # not "Open sessions"
        expect(sessions).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1500)  # tables and charts draw after their data arrives


def _full_screenshot(page, path: Path, width: int, height: int) -> None:
    """The whole page (Streamlit scrolls its main area, not the document)."""
    full = page.locator('[data-testid="stMain"]').evaluate("m => m.scrollHeight")
    page.set_viewport_size({"width": width, "height": max(height, full)})
    page.wait_for_timeout(700)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": height})


def _layout_problems(page, width: int, no_sideways_scroll: bool) -> list[str]:
    """Tables and charts wider than the page; on a station screen, tables that scroll
    sideways (a column the nurse cannot see)."""
    problems = []
    for table in page.locator('[data-testid="stDataFrame"]').all():
        box = table.bounding_box()
        if box and box["x"] + box["width"] > width + 1:
            problems.append(f"a table {box['width']:.0f} px wide ends beyond the page")
        scroller = table.locator(".dvn-scroller").first
        if no_sideways_scroll and scroller.count():
            inner, shown = scroller.evaluate("s => [s.scrollWidth, s.clientWidth]")
            if inner > shown + 2:
                problems.append(f"a table scrolls sideways ({inner} px in {shown} px)")
    for chart in page.locator(".js-plotly-plot").all():
        box = chart.bounding_box()
        if box and box["x"] + box["width"] > width + 1:
            problems.append("a chart ends beyond the page")
    return problems


def test_the_patient_tablet_shows_one_form_and_nothing_else(browser, stack) -> None:
    """The nurse hands the tablet over from the chair page; the patient sees the PHQ-9 only,
    no page list, and neither a reload nor typing another page's address leads to data."""
    from playwright.sync_api import expect

    url, db = stack
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, url, "/chair")
    hand = page.get_by_role("button", name="Hand the tablet to the patient: How you have been")
    hand.click(timeout=60_000)
    heading = page.get_by_role("heading", name="How you have been feeling (PHQ-9)")
    expect(heading).to_be_visible(timeout=30_000)
    for elsewhere in ("Overview", "Review", "Chair 1"):
        expect(page.get_by_text(elsewhere, exact=True)).to_have_count(0)
    groups = page.get_by_role("radiogroup")
    expect(groups).to_have_count(9, timeout=30_000)  # drawn as the page settles, under load too
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
    page.goto(f"{url}/review")  # the station is still the patient's: the form, not data
    expect(page.get_by_text("Thank you")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Export", exact=True)).to_have_count(0)
    page.close()
