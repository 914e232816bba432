"""Notification config: the issue's layout, secrets from the environment, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from vitals.errors import ConfigError
from vitals.notify_config import LadderStep, load_notify_config

EXAMPLE = """
[[channels]]
name = "nurse-phone"
url = "ntfys://ntfy.example.org/ward?token=${NTFY_TOKEN}"

[[channels]]
name = "team"
url = "mailto://127.0.0.1:2525?from=a@clinic.example&to=team@clinic.example&mode=insecure"

[[ladder]]
level = "critical"
after_s = 30
channels = ["nurse-phone"]

[[ladder]]
level = "technical"
after_s = 60
channels = ["nurse-phone", "team"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notify.toml"
    path.write_text(text)
    return path


def test_the_issue_layout_loads_with_the_token_from_the_environment(tmp_path: Path) -> None:
    config = load_notify_config(write(tmp_path, EXAMPLE), {"NTFY_TOKEN": "tk_secret"})
    assert config.channel("nurse-phone").url.endswith("?token=tk_secret")
    assert config.ladder[1] == LadderStep("technical", 60.0, ("nurse-phone", "team"))
    assert config.problems() == []


def test_a_missing_secret_names_the_variable_never_a_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"channels\[0\]\.url: environment variable NTFY_TOKEN"):
        load_notify_config(write(tmp_path, EXAMPLE), {})


def test_a_config_without_channels_says_it_reaches_no_one(tmp_path: Path) -> None:
    config = load_notify_config(write(tmp_path, "retry_s = 30\n"), {})
    assert config.problems() == [
        f"notification config {tmp_path / 'notify.toml'} lists no channels: alarms reach no phone"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[channels]]\nname = "a"\n', r"channels\[0\]: missing url"),
        ('[[channels]]\nname = "a b"\nurl = "json://x"\n', r"use letters, digits"),
        (
            '[[channels]]\nname = "a"\nurl = "json://x"\n[[channels]]\nname = "a"\nurl = "json://y"\n',
            r"unique; repeated: \['a'\]",
        ),
        ('[[ladder]]\nlevel = "urgent"\nafter_s = 1\nchannels = ["a"]\n', r"ladder\[0\]\.level"),
        (
            '[[channels]]\nname = "a"\nurl = "json://x"\n[[ladder]]\nlevel = "critical"\n'
            'after_s = -1\nchannels = ["a"]\n',
            r"after_s: expected a number of seconds >= 0",
        ),
        ('[[ladder]]\nlevel = "critical"\nafter_s = 5\nchannels = ["pager"]\n', r"unknown channel"),
        ('[[ladder]]\nlevel = "critical"\nchannels = []\n', r"missing after_s"),
        ("colour = 1\n", r"unknown key\(s\) \['colour'\]"),
        ("[[channels\n", r"not valid TOML"),
    ],
)
def test_every_mistake_is_one_line_naming_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_notify_config(write(tmp_path, text), {})


def test_an_unknown_channel_name_lists_the_known_ones(tmp_path: Path) -> None:
    config = load_notify_config(write(tmp_path, EXAMPLE), {"NTFY_TOKEN": "x"})
    with pytest.raises(ConfigError, match="no channel named 'pager'; known: nurse-phone, team"):
        config.channel("pager")
