"""Entry point of the Streamlit app: only the router (and the frame every page shares)."""

import streamlit as st

from dashboard.chrome import frame
from dashboard.favicon import favicon
from dashboard.navigation import pages
from dashboard.source import start_logging

st.set_page_config(page_title="Chairside", page_icon=favicon(), layout="wide")
start_logging()
page = st.navigation(list(pages().values()), position="top")
frame()
page.run()
