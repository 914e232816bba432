"""The site station's line on the central review: shown only where the site forwards, calm
while the central copy is current, a warning with the lag, what waits and since when the
link is down when it is not — in the clinic's time, never as a patient alert."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

from chairside.relay import CentralRelay, RelayTarget
from tests.dashboard import test_pages
from tests.dashboard.test_pages import page
from vitals.reading import Param, Reading, utc_now
from vitals.store import StoreWriter, relay
from vitals.times import to_us

signed_in, users = test_pages.signed_in, test_pages.users  # the pages' sign-in fixtures


def shown(elements) -> str:
    return re.sub(r"\\(.)", r"\1", " ".join(e.value for e in elements))  # read as shown


def forwarding(db: Path, tmp_path: Path) -> StoreWriter:
    writer = StoreWriter(db)
    target = RelayTarget(str(tmp_path / "central.db"), "north")
    CentralRelay(writer, target, threading.Event()).enable()
    return writer


def test_a_site_that_does_not_forward_says_nothing_of_it(signed_in) -> None:
    at = signed_in(page("overview", "overview_page"))
    assert "Central review" not in shown([*at.warning, *at.caption])


def test_a_current_central_copy_is_one_quiet_line(signed_in, sample_store, tmp_path) -> None:
    writer = forwarding(sample_store, tmp_path)
    writer.apply(
        relay.backfill_confirmed(relay.START, None, 0, to_us(utc_now()))
    )  # history all sent
    writer.close()
    at = signed_in(page("overview", "overview_page"))
    assert "Central review: up to date" in shown(at.caption)
    assert "Central review" not in shown(at.warning)


def test_a_cut_link_shows_the_lag_what_waits_and_since_when(
    signed_in, sample_store, tmp_path
) -> None:
    writer = forwarding(sample_store, tmp_path)
    now = utc_now()
    writer.apply(relay.backfill_confirmed(relay.START, None, 0, to_us(now)))
    waiting = [
        Reading(Param.SPO2, 97, time=now - timedelta(minutes=12, seconds=-i), chair="chair-3")
        for i in range(2345)
    ]
    writer.write_readings(waiting)
    down_since = now.replace(hour=16, minute=2, second=0, microsecond=0)  # 10:02 in Chicago
    down_since -= timedelta(days=1) if down_since > now else timedelta(0)
    writer.apply(relay.failed("the central store cannot be reached", to_us(down_since)))
    writer.apply(relay.failed("the central store cannot be reached", to_us(now)))
    writer.close()

    at = signed_in(page("overview", "overview_page"))
    line = shown(at.warning)
    # 2,345 waiting, and whatever the fixture's live chair 1 stored since
    assert re.search(r"^Central review 12 min behind — 2,3[4-9]\d readings waiting, ", line)
    assert line.endswith("; link down since 10:02 (the central store cannot be reached)")
    assert not at.error  # an outage of the copy is not an alarm
