"""`service install --forward URL --site NAME`: the recorder's unit forwards, and the unit file
never holds a password or a site id that cannot work."""

from pathlib import Path

import pytest

from chairside.cli import main
from chairside.service import installed_options
from tests.service.test_service_install import setup, unit  # noqa: F401 (fixture)

SERVER = "postgresql://chairside@review.example.org/chairside?sslmode=verify-full"


def install(setup, units: Path, *extra: str) -> int:  # noqa: F811
    config, db = setup
    argv = ["service", "install", "--config", str(config), "--db", str(db)]
    return main([*argv, "--unit-dir", str(units), *extra])


def test_the_recorder_unit_forwards_as_its_site(setup, tmp_path: Path) -> None:  # noqa: F811
    units = tmp_path / "units"
    assert install(setup, units, "--forward", SERVER, "--site", "north") == 0
    recorder = unit(units / "chairside-recorder.service")["Service"]["ExecStart"]
    assert f"--forward {SERVER} --site north" in recorder.replace("%%", "%")
    assert installed_options(units)["site"] == "north"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--forward", SERVER], "--forward and --site go together"),
        (["--forward", "postgresql://chairside:secret@db/review", "--site", "a"], "PGPASSFILE"),
        (["--forward", SERVER, "--site", "north/1"], "not a site id"),
    ],
)
def test_a_forwarding_unit_that_could_not_work_is_not_written(
    setup,  # noqa: F811
    tmp_path: Path,
    capsys,
    extra: list[str],
    message: str,
) -> None:
    units = tmp_path / "units"
    assert install(setup, units, *extra) == 1
    assert message in capsys.readouterr().err
    assert not units.exists()
