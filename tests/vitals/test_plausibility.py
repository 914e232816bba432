import pytest

from vitals.plausibility import PLAUSIBLE_RANGE, assess
from vitals.reading import Param, Quality, Reading


@pytest.mark.parametrize(
    ("param", "value", "quality"),
    [
        (Param.HR, 0, Quality.INVALID),
        (Param.HR, 1, Quality.OK),
        (Param.HR, 300, Quality.OK),
        (Param.HR, 301, Quality.INVALID),
        (Param.HR, 400, Quality.INVALID),
        (Param.SPO2, 100, Quality.OK),
        (Param.SPO2, 100.5, Quality.INVALID),
        (Param.SPO2, 0, Quality.INVALID),
    ],
)
def test_range_edges(param: Param, value: float, quality: Quality) -> None:
    [reading] = assess([Reading(param, value)])
    assert reading.quality is quality
    assert reading.value == value  # flagged, never dropped or altered


def test_systolic_not_above_diastolic_invalidates_the_whole_measurement() -> None:
    batch = [
        Reading(Param.SBP, 80),
        Reading(Param.DBP, 80),
        Reading(Param.MAP, 80),
        Reading(Param.HR, 70),
    ]
    out = {r.param: r.quality for r in assess(batch)}
    assert out == {
        Param.SBP: Quality.INVALID,
        Param.DBP: Quality.INVALID,
        Param.MAP: Quality.INVALID,
        Param.HR: Quality.OK,
    }


def test_no_data_stays_invalid_and_every_param_has_a_range() -> None:
    [reading] = assess([Reading(Param.SBP, None, Quality.INVALID)])
    assert reading.quality is Quality.INVALID and reading.value is None
    assert set(PLAUSIBLE_RANGE) == set(Param)
