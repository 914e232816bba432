from pathlib import Path

import pytest

from vitals.chairs import Chair, dump_chairs, load_chairs, parse_chairs
from vitals.errors import ConfigError


def test_round_trip_through_toml(tmp_path: Path) -> None:
    chairs = [
        Chair("chair-1", "Chair 1", "/dev/ttyUSB0", "ge-s5", {"interval_s": 5}),
        Chair("bay_2", "Bay 2", "socket://127.0.0.1:4001", "ge-s5", {}, 2.5),
    ]
    path = tmp_path / "chairs.toml"
    path.write_text(dump_chairs(chairs))
    assert load_chairs(path) == chairs


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "at least one [[chairs]]"),
        ({"chairs": [{"id": "a", "port": "x"}]}, "'protocol' must be a non-empty string"),
        ({"chairs": [{"id": "a b", "port": "x", "protocol": "p"}]}, "id 'a b' must be"),
        ({"chairs": [{"id": "a", "port": "x", "protocol": "p", "speed": 1}]}, "unknown keys"),
        (
            {"chairs": [{"id": "a", "port": "x", "protocol": "p", "no_data_after_s": 0}]},
            "no_data_after_s must be",
        ),
        (
            {"chairs": [{"id": "a", "port": "x", "protocol": "p"}] * 2},
            "appears twice",
        ),
    ],
)
def test_bad_config_names_the_problem(document: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        parse_chairs(document)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_chairs(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[chairs]\nid=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_chairs(bad)


def test_the_committed_example_config_is_valid() -> None:
    from tests.conftest import ROOT

    chairs = load_chairs(ROOT / "data" / "chairs.example.toml")
    assert [c.id for c in chairs] == ["chair-1", "chair-2", "chair-3", "chair-4"]
    assert [d.protocol for d in chairs[3].devices] == ["ge-s5", "masimo-ascii"]


def test_a_chair_with_several_devices(tmp_path: Path) -> None:
    from vitals.chairs import Device

    document = {
        "chairs": [
            {
                "id": "c1",
                "devices": [
                    {"port": "/dev/ttyUSB0", "protocol": "ge-s5", "options": {"interval_s": 5}},
                    {"name": "oxi", "port": "/dev/ttyUSB1", "protocol": "masimo-ascii"},
                ],
            }
        ]
    }
    [chair] = parse_chairs(document)
    assert chair.devices == (
        Device("/dev/ttyUSB0", "ge-s5", {"interval_s": 5}),
        Device("/dev/ttyUSB1", "masimo-ascii", {}, "oxi"),
    )
    assert [d.label for d in chair.devices] == ["ge-s5", "oxi"]
    path = tmp_path / "c.toml"
    path.write_text(dump_chairs([chair]))
    assert load_chairs(path) == [chair]


@pytest.mark.parametrize(
    ("chair", "message"),
    [
        (
            {"id": "c", "port": "x", "protocol": "p", "devices": [{"port": "y", "protocol": "q"}]},
            "not both",
        ),
        ({"id": "c", "devices": []}, "non-empty list"),
        (
            {
                "id": "c",
                "devices": [{"port": "x", "protocol": "p"}, {"port": "y", "protocol": "p"}],
            },
            "must differ",
        ),
        ({"id": "c", "devices": [{"port": "x", "protocol": "p", "baud": 1}]}, "unknown keys"),
    ],
)
def test_bad_device_lists(chair: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_chairs({"chairs": [chair]})


def test_heart_rate_sources_are_configured_per_chair(tmp_path: Path) -> None:
    """An oximeter-and-cuff chair watches the oximeter's pulse first, then the cuff's."""
    document = {
        "chairs": [
            {
                "id": "c1",
                "no_data_after_s": 10,
                "heart_rate": ["pulse@oxi", "pulse@cuff"],
                "devices": [
                    {"name": "cuff", "port": "/dev/ttyUSB0", "protocol": "hl7-mllp"},
                    {"name": "oxi", "port": "/dev/ttyUSB1", "protocol": "masimo-ascii"},
                ],
            },
            {"id": "c2", "port": "/dev/ttyUSB2", "protocol": "ge-s5"},
        ]
    }
    one, two = parse_chairs(document)
    assert one.heart_rate_sources.names() == ["pulse@oxi", "pulse@cuff"]
    assert one.heart_rate_sources.stale_s == 10
    assert [s.label for s in one.heart_rate_sources.order] == ["pulse from oxi", "pulse from cuff"]
    assert two.heart_rate == ("hr", "pulse")  # ECG first, then the oximeter
    path = tmp_path / "c.toml"
    path.write_text(dump_chairs([one, two]))
    assert load_chairs(path) == [one, two]


@pytest.mark.parametrize(
    ("heart_rate", "message"),
    [
        (["spo2"], "heart-rate source 'spo2'"),
        ("hr", "non-empty list"),
        ([], "non-empty list"),
        (["hr", "hr"], "twice"),
        (["pulse@"], "heart-rate source 'pulse@'"),
        (["pulse@oximeter"], "names no device of this chair"),
    ],
)
def test_bad_heart_rate_sources_name_the_problem(heart_rate, message: str) -> None:
    chair = {"id": "c", "port": "x", "protocol": "p", "heart_rate": heart_rate}
    with pytest.raises(ConfigError, match=message):
        parse_chairs({"chairs": [chair]})
