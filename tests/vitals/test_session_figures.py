"""A session's figures asked of the database, against a heart-rate strip worked out by hand:
invalid and empty readings skipped, a value holding until the next one, the first time of a
repeated peak, a repeat at the same moment, nothing from outside the window."""

from datetime import timedelta
from pathlib import Path

from vitals.chairs import Chair
from vitals.reading import Param, Quality, Reading, utc_now
from vitals.store import StoreWriter, connect_readonly
from vitals.store.session_figures import peak, seconds_beyond

T0 = utc_now().replace(microsecond=0) - timedelta(hours=1)
END = T0 + timedelta(seconds=60)


def hr(second: float, value: float | None, quality: Quality = Quality.OK) -> Reading:
    return Reading(Param.HR, value, quality).stamped("c1", T0 + timedelta(seconds=second), "t")


def test_peak_and_time_at_or_above_on_a_strip_worked_out_by_hand(db_path: Path) -> None:
    writer = StoreWriter(db_path)
    writer.write_chairs(
        [Chair("c1", "Chair 1", "x", "ge-s5"), Chair("c2", "Chair 2", "y", "ge-s5")]
    )
    writer.write_readings(
        [
            hr(-5, 180),  # before the window: the previous patient
            hr(0, 100),  # 100 from 0 s to 20 s
            hr(10, 190, Quality.INVALID),  # an artifact: skipped, 100 still holds
            hr(20, 130),  # 130 from 20 s to 40 s (the None at 30 s is skipped)
            hr(30, None),
            hr(40, 130),  # the same peak again, later: the first one counts
            hr(40, 125),  # a repeat at the same moment, stored beside it: holds 0 s
            hr(50, 90),  # 90 until the end
            hr(60, 200),  # at the end: outside [start, end)
        ]
    )
    writer.write_readings([Reading(Param.HR, 250.0).stamped("c2", T0, "t")])  # another chair
    writer.close()
    conn = connect_readonly(db_path)

    assert peak(conn, "c1", Param.HR, T0, END) == (130.0, T0 + timedelta(seconds=20))
    assert peak(conn, "c1", Param.SBP, T0, END) is None
    # >= 100: 0-60 but 50-60; >= 125: 20-50; >= 130: 20-40 and 40-40 (the 125 at 40 s
    # follows the 130 stored first); > everything: 0
    held = seconds_beyond(conn, "c1", Param.HR, T0, END, [100, 125, 130, 131])
    assert held == [50.0, 30.0, 20.0, 0.0]
    assert seconds_beyond(conn, "c1", Param.HR, T0, END, [130], ">") == [0.0]
    # <= 100: 0-20 (100) and 50-60 (90); < 100: 50-60; <= 89: never
    assert seconds_beyond(conn, "c1", Param.HR, T0, END, [100, 89], "≤") == [30.0, 0.0]
    assert seconds_beyond(conn, "c1", Param.HR, T0, END, [100], "<") == [10.0]
    assert seconds_beyond(conn, "c9", Param.HR, T0, END, [100]) == [0.0]
