"""The recorder starts without the dashboard's and the reports' libraries: importing pandas,
numpy, fpdf and apprise would cost about a second of CPU at every start, before any port
opens, for code the recorder does not run."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "pyarrow", "fpdf", "apprise", "plotly", "streamlit", "tsdownsample")


def _loaded_after(code: str) -> list[str]:
    loaded = f"sorted(m for m in {HEAVY!r} if m in sys.modules)"
    probe = f"import sys, json\n{code}\nprint(json.dumps({loaded}))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_record_command_and_the_recorder_import_none_of_the_heavy_libraries() -> None:
    code = "import chairside.cli, chairside.recorder, chairside.alerts, vitals.verdict\n"
    code += "chairside.cli.build_parser()"
    assert _loaded_after(code) == []


def test_a_stand_in_imports_its_library_at_first_use_and_then_is_it() -> None:
    code = (
        "from vitals.store import queries\n"
        "assert 'pandas' not in sys.modules\n"
        "frame = queries.pd.DataFrame({'a': [1]})\n"
        "import pandas\n"
        "assert queries.pd.DataFrame is pandas.DataFrame and len(frame) == 1\n"
    )
    assert "pandas" in _loaded_after(code)
