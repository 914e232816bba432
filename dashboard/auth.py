"""Sign-in: a nurse's name and password, checked against the hashed users file.

The signed-in name is what acknowledgments and events record, so every page that acts asks
``current_user()`` and nothing else.
"""

from __future__ import annotations

import streamlit as st

from dashboard.signin_limits import attempt, nurse_field
from dashboard.source import log, users_path
from vitals.errors import ChairsideError
from vitals.users import authenticate, load_users

USER_KEY = "signed_in_user"


def current_user() -> str | None:
    return st.session_state.get(USER_KEY)


def sign_out() -> None:
    st.session_state.pop(USER_KEY, None)


def sign_in_page() -> None:
    st.title("Chairside — sign in")
    st.caption("Monitoring aid only — not a certified medical device.")
    try:
        names = sorted(load_users(users_path()))
    except ChairsideError as exc:
        st.error(str(exc))
        return
    with st.form("sign-in"):
        name = nurse_field(names)
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted and attempt(name, lambda: authenticate(users_path(), name, password)):
        st.session_state[USER_KEY] = name
        log.info("%s signed in", name)
        st.rerun()
