"""A real package: the wheel holds every room and its data, and installed into a fresh
environment it gives a working ``chairside`` outside the checkout.

Kept fast and offline: the wheel is built without build isolation (setuptools comes from the
lock), and installed with ``--no-deps --no-index`` into a new venv that sees the locked
dependencies through a path file, never the checkout.
"""

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
SOURCES = ["pyproject.toml", "README.md", "vitals", "devices", "simulators", "dashboard"]
SOURCES += ["chairside", "data/samples/clinic-sample.db"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy, so the build's scratch folders never land in the checkout."""
    work = tmp_path_factory.mktemp("build")
    source = work / "src"
    for name in SOURCES:
        origin, target = ROOT / name, source / name
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work), "."]
    subprocess.run(build, cwd=source, check=True, capture_output=True, timeout=120)
    (built,) = work.glob("chairside-*.whl")
    return built


def test_the_wheel_holds_every_package_its_presets_and_the_sample(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for room in ("vitals", "devices", "simulators", "dashboard", "chairside"):
        for init in (ROOT / room).rglob("__init__.py"):
            package = init.parent.relative_to(ROOT).as_posix()
            modules = {p.relative_to(ROOT).as_posix() for p in init.parent.glob("*.py")}
            assert modules <= names, f"{package} is missing from the wheel (pyproject packages)"
    presets = {p.name for p in (ROOT / "vitals" / "protocols").glob("*.toml")}
    assert {f"vitals/protocols/{name}" for name in presets} <= names
    assert "simulators/sample_data/clinic-sample.db" in names
    assert not any(n.startswith(("tests/", "bench/", "data/")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert (
        "chairside = chairside.cli:console_main"
        in zipfile.ZipFile(wheel).read(entry_points).decode()
    )


def test_installed_into_a_fresh_venv_chairside_works_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the locked dependencies, not the checkout: a path file to this venv's site-packages
    Path(site, "locked-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python]
    subprocess.run(
        [*install, "install", "-q", "--no-deps", "--no-index", wheel], check=True, timeout=120
    )
    outside = tmp_path / "clinic"
    outside.mkdir()
    clean_env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}

    def chairside(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [env_dir / "bin" / "chairside", *args],
            cwd=outside,
            env=clean_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    version = chairside("--version")
    assert version.returncode == 0 and version.stdout.startswith("chairside 0."), version
    where = subprocess.run(
        [
            python,
            "-c",
            "import chairside, simulators.sample_clinic as s, vitals.clinical as c;"
            "print(chairside.__file__); print(s.SAMPLE_DB.is_file());"
            "print(c.load_protocol('iv-ketamine').name)",
        ],
        cwd=outside,
        env=clean_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where[0].startswith(site) and where[1:] == ["True", "iv-ketamine"], where
    usage = chairside("doctor", "--help")
    assert usage.returncode == 0 and "usage: chairside doctor" in usage.stdout
    config = outside / "chairs.toml"
    config.write_text('[[chairs]]\nid = "chair-1"\nport = "/dev/ttyUSB9"\nprotocol = "ge-s5"\n')
    units = chairside("service", "install", "--config", "chairs.toml", "--db", "c.db", "--dry-run")
    assert units.returncode == 0, units.stderr
    assert f"ExecStart={python} -m chairside record --config {config}" in units.stdout
    assert "PYTHONPATH" not in units.stdout  # installed: no path to a checkout
