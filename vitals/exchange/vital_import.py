"""Import of VitalDB ``.vital`` recordings (read with the ``vitaldb`` package).

A .vital file holds tracks named ``DEVICE/TRACK`` with time-stamped values. Numeric tracks
whose name ends in a known parameter are imported for one chair: by default the names used
by VitalDB's own recordings (e.g. ``Solar8000/HR``, ``Solar8000/NIBP_SBP``,
``Solar8000/PLETH_SPO2``); other names can be mapped with ``tracks``. Waveforms and unknown
tracks are left out. Values keep the file's time stamps; the import judges plausibility as
for live readings (``csv_io.import_readings``), so an implausible imported value is stored
``invalid``, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from vitals.errors import ConfigError
from vitals.reading import Param, Reading

TRACKS: dict[str, Param] = {
    "HR": Param.HR,
    "ECG_HR": Param.HR,
    "PLETH_HR": Param.PULSE,
    "PULSE_RATE": Param.PULSE,
    "NIBP_SBP": Param.SBP,
    "NIBP_DBP": Param.DBP,
    "NIBP_MBP": Param.MAP,
    "NIBP_MEAN": Param.MAP,
    "PLETH_SPO2": Param.SPO2,
    "SPO2": Param.SPO2,
}


def read_vital(path: Path, chair: str, tracks: Mapping[str, Param] | None = None) -> list[Reading]:
    """Readings of ``chair`` from a .vital file; ConfigError when it cannot be read."""
    try:
        import vitaldb  # heavy (scipy, matplotlib, wfdb): only this import needs it
    except ImportError:
        raise ConfigError(
            "reading .vital files needs the 'vital' extra: pip install 'chairside[vital]'"
        ) from None

    if not Path(path).is_file():
        raise ConfigError(f"no .vital file at {path}")
    try:
        recording = vitaldb.VitalFile(str(path))
    except Exception as exc:  # the package raises many kinds on a damaged file
        raise ConfigError(f"{path} is not a readable .vital file: {exc!r}") from None
    mapping = {k.upper(): v for k, v in (tracks or TRACKS).items()}
    readings: list[Reading] = []
    for name in recording.get_track_names():
        param = mapping.get(name.split("/")[-1].upper()) or mapping.get(name.upper())
        track = recording.find_track(name)
        if param is None or track is None or track.type != 2:  # 2: numeric track
            continue
        source = f"vitaldb:{name.split('/')[0]}"
        for record in track.recs:
            moment = datetime.fromtimestamp(record["dt"], UTC)
            reading = Reading(param, float(record["val"]), device_time=moment)
            readings.append(reading.stamped(chair, moment, source))
    readings.sort(key=lambda r: r.time)
    return readings
