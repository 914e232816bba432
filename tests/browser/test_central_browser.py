"""The central review in a real browser: `chairside dashboard --db postgresql://…` as its own
process on the two-site sample in the tests' PostgreSQL server, driven by Debian's Chromium.
"""

import subprocess

import pytest

from tests.browser.test_dashboard_browser import (  # the same browser and words as a site's
    NEVER_SHOWN,
    NURSE,
    OUTPUT,
    PASSWORD,
    _answers,
    browser,  # noqa: F401 (a fixture)
    chromium,  # noqa: F401 (a fixture)
    free_port,
    sign_in,
)
from tests.conftest import ROOT, chairside_command, child_env, wait_for
from vitals.store.location import PostgresServer
from vitals.users import add_user

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def central_url(central_sample: PostgresServer, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("central")
    users, port = tmp / "users.toml", free_port()
    add_user(users, NURSE, PASSWORD)
    command = chairside_command(
        "dashboard", "--db", str(central_sample), "--port", str(port), "--users", str(users),
        "--timezone", "America/Chicago",
    )  # fmt: skip
    child = subprocess.Popen(
        command, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), timeout=60, what="the central dashboard to answer")
        yield url
    finally:
        child.terminate()
        child.wait(timeout=20)


def test_the_central_review_reads_every_site_by_name_in_the_browser(
    browser,  # noqa: F811 (the fixture imported above)
    central_url: str,
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        sign_in(page, central_url, "/review")
        # the list's cells are the data grid's (drawn on a canvas, kept in the page as text)
        page.get_by_text("hillside · Chair 2").first.wait_for(state="attached", timeout=30_000)
        page.get_by_text("Record verified at").wait_for(timeout=30_000)
        shown = page.locator('[data-testid="stMain"]').inner_text()
        assert "riverside · Chair 1" in page.locator("body").text_content()
        assert "Alarm sound" not in page.inner_text("body")
        assert "Overview" not in page.inner_text("body")  # no live pages on a central store
        assert not NEVER_SHOWN.search(shown), NEVER_SHOWN.search(shown)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "central-review.png"))
        page.goto(f"{central_url}/course")
        page.get_by_role("heading", name="Course").wait_for(timeout=30_000)
        page.get_by_text("riverside", exact=True).first.wait_for(state="attached", timeout=30_000)
    finally:
        page.close()
