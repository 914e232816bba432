"""The dashboard's own log: sign-ins and nurses' actions, each a line with its level."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import check_password
from dashboard.signin_limits import judge
from dashboard.source import start_logging
from tests.conftest import ROOT
from tests.dashboard.test_pages import seat
from vitals.logs import configure_logging
from vitals.users import add_user

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture
def dashboard_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CHAIRSIDE_LOG_DIR", str(tmp_path / "logs"))
    start_logging.clear()
    yield tmp_path / "logs" / "dashboard.log"
    start_logging.clear()
    configure_logging("tests")  # the dashboard's file handler goes with this test


def test_sign_ins_and_acknowledgments_are_logged(
    sample_store: Path, dashboard_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "Nurse Ada", "lovelace")
    monkeypatch.setenv("CHAIRSIDE_USERS", str(users))
    monkeypatch.setenv("CHAIRSIDE_DB", str(sample_store))
    at = AppTest.from_file(APP, default_timeout=30).run()  # the dashboard starts: first line
    for password in ("wrong", "lovelace"):  # what the sign-in form's route does
        judge("Nurse Ada", "this machine", lambda p=password: bool(check_password("Nurse Ada", p)))
    seat(at).run()
    [ack] = [b for b in at.button if b.label == "Acknowledge"]
    ack.click().run()
    at.button(key="ack-confirm").click().run()
    lines = [line.split(" ", 2)[2] for line in dashboard_log.read_text().splitlines()]
    assert lines[0] == f"INFO chair=- chairside.dashboard: dashboard serving {sample_store}"
    refused = "WARNING chair=- chairside.dashboard: sign-in refused for Nurse Ada from this machine"
    assert refused in lines  # and from which client (dashboard/signin_limits.py)
    assert "INFO chair=- chairside.dashboard: Nurse Ada signed in from this machine" in lines
    assert any(x.endswith("acknowledge 1 by Nurse Ada") for x in lines), lines
    assert "lovelace" not in dashboard_log.read_text()
