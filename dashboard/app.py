"""Entry point of the Streamlit app: only the router; each page lives in dashboard/pages/."""

import streamlit as st

from dashboard.pages.live import live_page

st.set_page_config(page_title="Chairside", page_icon="🩺", layout="wide")
st.navigation([st.Page(live_page, title="Live", icon="📈", default=True)]).run()
