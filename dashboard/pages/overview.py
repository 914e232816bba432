"""Overview (home): one tile per chair, "who needs me now, and why", refreshed every second."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard.actions import open_dialog, show_open_dialog
from dashboard.auth import current_user
from dashboard.chrome import play_alarm
from dashboard.forwarding import forwarding_banner, station_heartbeat
from dashboard.navigation import open_chair
from dashboard.overview_model import Tile, build_tiles
from dashboard.plain import md
from dashboard.relay_line import relay_line
from dashboard.source import read_store, recorder_status
from dashboard.station_alarm import station_levels
from dashboard.tile_html import CSS, tile_html
from dashboard.tiles import recorder_banner, recorder_line, store_banner
from vitals.store import queries
from vitals.store.notifications import notifier_status
from vitals.store.relay import relay_status


def overview_page() -> None:
    st.html(CSS)
    st.caption("Monitoring aid only — not a certified medical device. Check the bedside monitor.")
    overview()


def columns_for(chairs: int) -> int:
    """Tiles per row on a 1920×1080 screen; the tile CSS wraps them on a portrait tablet."""
    return 2 if chairs <= 4 else 3 if chairs <= 9 else 4 if chairs <= 16 else 6


@st.fragment(run_every=timedelta(seconds=1))
def overview() -> None:
    now = pd.Timestamp.now(tz="UTC")
    status = recorder_status()
    found = read_store(
        lambda conn: (
            queries.heartbeat(conn),
            build_tiles(conn, now),
            forwarding_banner(notifier_status(conn), now),
            relay_status(conn),
        )
    )
    if found is None:
        return
    beat, tiles, forwarding, central = found
    banner = store_banner(status, now) or recorder_banner(beat, now)
    if banner:
        st.error(md(banner), icon=":material/error:")
    line = recorder_line(beat, status, now)
    if line:
        st.caption(md(line))
    if forwarding:
        st.warning(md(forwarding), icon=":material/phonelink_erase:")
    if central is not None:
        behind, line = relay_line(central, now)
        if behind:
            st.warning(md(line), icon=":material/cloud_sync:")
        else:
            st.caption(md(line))
    station_heartbeat(now)
    if not tiles:
        st.info("No chairs configured yet: start the recorder with a chair config.")
        return
    play_alarm(station_levels(tiles))
    acting = current_user() is not None  # a locked station shows, it does not act
    per_row = columns_for(len(tiles))
    for row_start in range(0, len(tiles), per_row):  # row by row: wrapping keeps the order
        for column, tile in zip(
            st.columns(per_row), tiles[row_start : row_start + per_row], strict=False
        ):
            chair_tile(column, tile, acting)
    show_open_dialog()


def chair_tile(column: DeltaGenerator, tile: Tile, acting: bool) -> None:
    """One chair: its tile, and the two things a nurse does from here."""
    with column:
        st.html(tile_html(tile))
        if not acting:
            return
        left, right = st.columns(2)
        if left.button("Details", key=f"open-{tile.chair}", width="stretch"):
            open_chair(tile.chair)
        if tile.unacked and right.button(
            "Acknowledge", key=f"ack-{tile.chair}", type="primary", width="stretch"
        ):
            open_dialog("acknowledge", tile.chair)
