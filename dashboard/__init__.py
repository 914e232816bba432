"""The nurses' Streamlit dashboard; it reads and writes only through the ``vitals`` core."""
