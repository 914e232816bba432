"""The hazard log names real controls and real tests: a renamed test cannot leave a row
pointing at nothing."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "docs" / "hazards.md"
HAZARDS = (
    "Missed alarm",
    "Late alarm",
    "False alarm",
    "Alarm flood",
    "Another patient's data",
    "Stale value shown as current",
    "Lost reading",
    "Premature discharge verdict",
    "Wrong time",
)


def rows() -> list[list[str]]:
    lines = [line for line in LOG.read_text().splitlines() if line.startswith("| H-")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def defined_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_row_names_tests_that_exist() -> None:
    found = rows()
    assert len({row[0] for row in found}) == len(found), "an ID is used twice"
    for row_id, _hazard, _cause, control, tests in found:
        assert control and tests, f"{row_id} lacks a control or a test"
        current = None
        for path, name in re.findall(r"`(tests/[\w/]+\.py)?::(\w+)", tests):
            current = ROOT / path if path else current
            assert current is not None and current.exists(), f"{row_id}: {path} missing"
            assert name in defined_functions(current), f"{row_id}: {path}::{name} missing"


def test_every_kind_of_hazard_has_a_row() -> None:
    named = " ".join(row[1] for row in rows())
    assert all(hazard in named for hazard in HAZARDS), named
