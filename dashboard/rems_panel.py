"""The review page's REMS monitoring record: the form's fields answered from the store, with
the evidence, and the CSV to download (the one-page PDF is among the page's exports)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from dashboard.source import read_store, zone
from vitals.exchange.rems_report import CSV_COLUMNS, csv_rows, csv_text
from vitals.reading import utc_now
from vitals.rems import build_record, record_inputs


def rems_panel(session_id: int) -> None:
    with st.expander("REMS monitoring record (prepared, not submitted)"):
        inputs = read_store(lambda conn: record_inputs(conn, session_id, utc_now()))
        if inputs is None:
            return
        # on the clinic's clock for the page; the CSV is data, in UTC
        record, data = build_record(replace(inputs, zone=zone())), build_record(inputs)
        st.caption(
            "The SPRAVATO REMS Patient Monitoring Form as far as monitoring data can answer "
            "it. Chairside prepares it; the clinic checks it, completes the fields marked "
            "for the nurse and submits it to the REMS within 7 days."
        )
        rows = csv_rows(record)
        table = pd.DataFrame(rows, columns=CSV_COLUMNS).drop(columns=["time_utc"])
        table["answer"] = table.answer.replace("", "— for the nurse —")
        st.dataframe(table, hide_index=True, width="stretch")
        name = f"session-{session_id}-rems-record.csv"
        st.download_button(name, csv_text(data).encode(), file_name=name, mime="text/csv")
