"""What every page shows around its content: who is signed in, the alarm sound and its switch,
and what a station shows while signed out or locked."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import streamlit as st

from dashboard import station
from dashboard.auth import Station, current_station, lock_reason, note_use
from dashboard.plain import html, md
from dashboard.sound import alarm_level, alarm_wav
from dashboard.source import central

SOUND_KEY = "sound_on"
SIGN_IN, SIGN_OUT = "/station/sign-in", "/station/sign-out"

# The alarm's <audio> plays without being seen: its container takes no room, so the tiles
# never move when an alarm starts or stops. The sign-out form's button looks like
# Streamlit's own.
CSS = """
<style>
.st-key-alarm{display:none}
[data-testid="stStatusWidget"]{visibility:hidden}  /* the live refresh is not "running" news */
/* A live part re-drawn every second must not fade while the next second is computed. */
[data-testid="stElementContainer"][data-stale="true"]{opacity:1 !important;transition:none}
[data-testid="stMainBlockContainer"]{padding-top:3.75rem}
.st-key-status p,.cs-form{margin:0}
.cs-form button{font:inherit;padding:.3rem .8rem;border-radius:.5rem;cursor:pointer;
  border:1px solid rgba(49,51,63,.2);background:#fff;color:inherit}
.cs-form button:hover{border-color:#c62828;color:#c62828}
a.cs-sign-in{display:inline-block;padding:.35rem .9rem;border-radius:.5rem;background:#c62828;
  color:#fff !important;text-decoration:none;font-weight:600}
</style>
"""

# Streamlit's player autoplays only the first time an element mounts: when the page redraws it
# (a reload under load, a layout change) it comes back paused and the alarm would go quiet
# while the tile still flashes. Only the server ends an alarm (acknowledged, sound off): this
# constant script, started once per page, restarts any alarm the browser has paused.
ALARM_KEEPER = """
<script>
if (!window.chairsideAlarmKeeper) {
  window.chairsideAlarmKeeper = setInterval(() => {
    for (const sound of document.querySelectorAll(".st-key-alarm audio")) {
      if (sound.paused) sound.play().catch(() => {});
    }
  }, 1000);
}
</script>
"""


def frame() -> None:
    """Around every page: the shared style, the status row and the banners that must not be
    missed (locked, sound off). A full run means a nurse opened or used a page."""
    st.html(CSS)
    found = current_station()
    if found is None:
        return
    note_use()
    status_row(found)
    reason = lock_reason(found)
    if reason:
        st.warning(
            f"Locked: {md(reason)}. Every chair and its alarms stay on screen; sign in to act.",
            icon=":material/lock:",
        )
        sign_in_link(found.nurse, "Sign in to act")
    if central():
        st.caption(
            "Central review of every site's recorded sessions. Each site's own station watches "
            "its chairs live and sounds their alarms."
        )
    elif not sound_on():
        st.warning(
            "Alarm sound is OFF on this screen — alerts are shown but silent.",
            icon=":material/volume_off:",
        )


def status_row(found: Station) -> None:
    """Who is signed in, the sound switch and sign-out, on one line under the page menu: no
    sidebar to squeeze the tiles on a tablet."""
    row = st.container(horizontal=True, vertical_alignment="center", gap="medium", key="status")
    with row:
        st.markdown(f"Signed in as **{md(found.nurse)}**", width="content")
        if not central():  # a central review rings no alarm: the sites' stations do
            sound_switch(found)
        st.markdown(
            f'<form class="cs-form" method="post" action="{SIGN_OUT}">'
            '<button type="submit">Sign out</button></form>',
            unsafe_allow_html=True,
            width="content",
        )


def sound_switch(found: Station) -> None:
    if SOUND_KEY not in st.session_state:
        st.session_state[SOUND_KEY] = station.sound_on(found.station_id)
    st.toggle(
        "Alarm sound",
        key=SOUND_KEY,
        on_change=lambda: station.set_sound(found.station_id, st.session_state[SOUND_KEY]),
        help="Warning and critical alerts play a sound until acknowledged; this switch is "
        "remembered by this screen. A browser plays sound only after someone has clicked "
        "on the page since it was opened or reloaded: if you hear nothing, click anywhere "
        "on the page once.",
    )


def sound_on() -> bool:
    if SOUND_KEY in st.session_state:
        return bool(st.session_state[SOUND_KEY])
    found = current_station()
    return station.sound_on(found.station_id) if found else True


def play_alarm(unacknowledged_levels: list[str]) -> None:
    """Loop the most severe unacknowledged alarm's sound; nothing when all are acknowledged.

    Always in the same hidden container, so starting, changing or stopping the sound never
    moves anything on the page.
    """
    level = alarm_level(unacknowledged_levels)
    with st.container(key="alarm"):
        if level and sound_on():
            st.audio(alarm_wav(level), format="audio/wav", autoplay=True, loop=True)
            st.html(ALARM_KEEPER, unsafe_allow_javascript=True)


def here() -> str:
    """The path of the page on screen, so signing in comes back to it."""
    url = st.context.url
    return urlsplit(url).path or "/" if url else "/"


def sign_in_link(nurse: str = "", label: str = "Sign in") -> None:
    target = f"{SIGN_IN}?next={quote(here())}" + (f"&nurse={quote(nurse)}" if nurse else "")
    st.markdown(
        f'<a class="cs-sign-in" href="{html(target)}" target="_self">{html(label)}</a>',
        unsafe_allow_html=True,
    )


def signed_out_page() -> None:
    st.title("Chairside")
    st.caption("Monitoring aid only — not a certified medical device.")
    st.info("This screen is signed out. Sign in to see the chairs.", icon=":material/login:")
    sign_in_link()


def locked_page() -> None:
    st.info(
        "This page needs a signed-in nurse. The Overview still shows every chair and its alarms.",
        icon=":material/lock:",
    )
