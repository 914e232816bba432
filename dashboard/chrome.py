"""What every page shows around its content: who is signed in, and whether sound is on."""

from __future__ import annotations

import streamlit as st

from dashboard.auth import current_user, sign_out
from dashboard.sound import alarm_level, alarm_wav

SOUND_KEY = "sound_on"


def sound_on() -> bool:
    return st.session_state.get(SOUND_KEY, True)


def sidebar() -> None:
    user = current_user()
    if user is None:
        return
    with st.sidebar:
        st.markdown(f"Signed in as **{user}**")
        if st.button("Sign out"):
            sign_out()
            st.rerun()
        st.toggle(
            "Alarm sound",
            value=True,
            key=SOUND_KEY,
            help="Warning and critical alerts play a sound until acknowledged. Browsers only "
            "allow sound after you have clicked somewhere on the page (signing in counts); "
            "if you hear nothing, click anywhere on the page once.",
        )
    if not sound_on():
        st.warning("🔇 Alarm sound is OFF on this screen — alerts are shown but silent.")


def play_alarm(unacknowledged_levels: list[str]) -> None:
    """Loop the most severe unacknowledged alarm's sound; nothing when all are acknowledged."""
    level = alarm_level(unacknowledged_levels)
    if level and sound_on():
        st.audio(alarm_wav(level), format="audio/wav", autoplay=True, loop=True)
